// English and Simplified Chinese. Keys are the English texts; a text missing
// from a dictionary shows in English. Dates use the browser's time zone.

const zh = {
  // shell
  'casework console': 'casework 投诉工作台', 'Sign in': '登录', 'Sign out': '退出', 'Email': '邮箱', 'Password': '密码',
  'Language': '语言', 'Demo accounts': '演示账号', 'password': '密码', 'Signed in as': '当前用户',
  'My complaints': '我的投诉', 'Complaints': '投诉', 'New complaint': '登记投诉', 'Escalation queue': '升级审批队列',
  'Overdue': '已超时', 'Audit trail': '审计记录', 'Users': '用户', 'Teams': '团队', 'SLA policies': '服务时限策略',
  'Live updates': '实时更新', 'connected': '已连接', 'connecting…': '连接中…', 'Connection lost; retrying in': '连接中断，重试倒计时',
  'seconds': '秒', 'Loading…': '加载中…', 'Your session ended': '会话已结束', 'Dismiss': '关闭',
  // list
  'Search': '搜索', 'Status': '状态', 'Severity': '严重程度', 'Only overdue': '仅超时', 'Apply': '应用', 'Any': '全部',
  'Reference': '编号', 'Title': '标题', 'Customer': '客户', 'Deadline': '时限', 'Next page': '下一页', 'Previous page': '上一页',
  'Breached': '已违约', 'Assigned to me': '仅分配给我', 'Assign to me': '分配给我', 'Order': '排序', 'Newest first': '最新登记', 'Deadline first': '时限最近', 'due in': '剩余', 'overdue by': '已超时', 'total': '共', 'No complaints.': '没有投诉。',
  // intake
  'Channel': '渠道', 'Category': '类别', 'Description': '描述', 'Customer name': '客户姓名', 'Phone': '电话',
  'Customer email': '客户邮箱', 'Core demand': '核心诉求', 'Requested amount': '诉求金额', 'Emotion': '情绪',
  'Order reference': '订单号', 'Occurred at': '发生时间', 'Record complaint': '提交登记', 'Who': '客户信息', 'What happened': '事件经过',
  'Demand': '诉求', 'State of mind': '情绪状态', 'Related': '相关信息', 'Classification': '分类',
  // complaint
  'Details': '详情', 'Actions': '可执行操作', 'Notes': '备注', 'Evidence': '证据', 'Links': '关联投诉', 'Escalations': '升级记录',
  'Timeline': '审计时间线', 'Acknowledge': '受理', 'Message to the customer': '给客户的答复', 'Record finding': '记录调查结论',
  'Root cause': '根本原因', 'Responsibility': '责任方', 'Summary': '摘要', 'Propose resolution': '提出解决方案',
  'Compensation': '补偿金额', 'Remedies': '补救措施', 'Preventive measures': '预防措施', 'Customer accepted': '客户接受',
  'Customer declined': '客户拒绝', 'Note': '备注', 'Resolve': '标记已解决', 'Record callback': '记录回访', 'Reached': '已联系上',
  'Satisfied': '满意', 'Score (1–5)': '评分（1–5）', 'Comment': '说明', 'Close': '结案', 'Reopen': '重新打开', 'Reason': '原因',
  'Request escalation': '申请升级', 'To tier': '目标层级', 'Trigger': '触发原因', 'Refer to legal': '转交法务',
  'Add note': '添加备注', 'Visibility': '可见性', 'Upload evidence': '上传证据', 'Kind': '类型',
  'Drop a file here or choose one': '将文件拖到此处，或选择文件', 'File': '文件', 'Upload': '上传', 'Download': '下载',
  'Link complaints': '关联投诉', 'Other complaint reference': '另一投诉编号', 'Link': '关联', 'Flags': '标记',
  'Vulnerable customer': '弱势客户', 'Media attention': '媒体关注', 'Group complaint': '群体投诉', 'Sensitive': '敏感',
  'Legal hold': '法律保全', 'Save flags': '保存标记', 'No actions are open to you now.': '您当前没有可执行的操作。',
  'First response due': '首次响应时限', 'Resolution due': '解决时限', 'Assignee': '处理人', 'Team': '团队', 'Tier': '层级',
  'Version': '版本', 'Created': '登记时间', 'Resolution': '解决方案', 'Finding': '调查结论', 'uploading': '上传中',
  'Saved.': '已保存。', 'None.': '无。', 'by': '由', 'Requested by': '申请人', 'Decided by': '审批人',
  // queue
  'Approve': '批准', 'Reject': '驳回', 'Decision note': '审批意见', 'Due': '截止', 'Requested': '申请时间',
  'You requested this: another supervisor must decide (four-eyes rule).': '这是您本人的申请：须由另一位主管审批（双人原则）。',
  'Four-eyes rule: nobody decides their own request.': '双人原则：任何人不得审批自己的申请。',
  'No pending requests.': '没有待审批的申请。', 'New request': '新申请',
  // audit
  'Verify': '校验', 'Verified': '校验通过', 'Verification failed': '校验失败', 'events checked': '条事件已校验',
  'checkpoints checked': '个检查点已校验', 'First failure': '首个异常', 'Checkpoints': '检查点', 'Export': '导出',
  'Action': '操作', 'Actor': '操作人', 'Role': '角色', 'When': '时间', 'Changes': '变更', 'Complaint reference': '投诉编号',
  'From': '从', 'To': '到', 'masked': '已脱敏', 'No events.': '没有事件。', 'Load more': '加载更多',
  // closed loop
  'Progress updates': '进度告知', 'Promised by': '承诺答复时间', 'Promise broken': '未兑现承诺', 'Next update due': '下次告知时限',
  'Delay reason': '延误原因', 'Expected resolution': '预计解决时间', 'No progress updates yet.': '尚未告知进度。',
  'Post a progress update': '告知客户处理进度', 'Update for the customer': '告知客户的内容', 'Becomes the new promise to the customer.': '将作为对客户的新承诺。',
  'Post update': '发送进度告知', 'Contacts': '联系记录', 'Direction': '方向', 'Outcome': '结果', 'Recorded by': '记录人',
  'Record contact': '记录联系', 'Contact kind': '联系类型',
  'The customer chased after the promised time: an escalation was requested.': '客户在承诺时间之后催办：已自动申请升级。',
  'Customer reached': '已联系上客户', 'Callbacks': '回访', 'Next callback due': '下次回访时限', 'No callback attempts yet.': '尚无回访记录。',
  'Cycle': '处理轮次', 'Score': '评分', 'By': '执行人', 'Repeat complaint': '重复投诉', 'Repeats': '重复自',
  "The customer's other complaints": '该客户的其他投诉', 'Promise an answer by': '承诺答复时间', 'Resolve at first contact': '首次接触即解决',
  'What was done': '处理说明', 'Customer satisfied': '客户满意', 'Record the callback below.': '请在下方记录回访。', 'Closed': '结案',
  'Satisfaction': '满意度', 'Not satisfied': '不满意',
  'Callback queue': '回访队列', 'Resolved complaints awaiting a callback, the earliest due first. A satisfied customer closes the complaint; an unsatisfied one reopens it.':
    '待回访的已解决投诉，按回访时限排序。客户满意则结案，不满意则重新打开。',
  'No callbacks are due.': '没有待回访的投诉。', 'Callback due': '回访时限', 'unreached attempts': '次未联系上', 'Callback recorded': '回访已记录',
  'next attempt': '下次回访',
  // analysis
  'Analysis': '统计分析', 'From month': '起始月份', 'To month': '截止月份', 'complaints': '件投诉', 'still open': '件未办结',
  'deadlines missed': '次超出时限', 'average satisfaction (1–5)': '平均满意度（1–5）', 'Complaints by category': '按类别统计投诉',
  'Complaints by channel': '按渠道统计投诉', 'Monthly trend': '月度趋势', 'Month': '月份', 'SLA compliance by month': '各月时限达标率',
  'Met both deadlines (%)': '两项时限均达标（%）', 'Deadlines missed': '超出时限次数', 'Satisfaction by month': '各月满意度',
  'Average score (1–5)': '平均评分（1–5）', 'Answers': '答复数', 'Open': '未办结', 'SLA compliance': '时限达标率',
  'Average satisfaction': '平均满意度', 'Show as table': '以表格显示', 'No data in this range.': '该时间范围内没有数据。', 'None': '无',
  // groups
  'Groups': '群体投诉', 'Not part of a group.': '不属于任何群体投诉。', 'member': '件成员投诉', 'members': '件成员投诉',
  'Members': '成员投诉', 'Lead team': '牵头团队', 'Remove from group': '移出该群体投诉', 'Remove': '移出', 'Add to group': '加入群体投诉',
  'Group to join': '要加入的群体投诉', 'Choose a group.': '请选择群体投诉。', 'Open a group complaint': '建立群体投诉', 'Open group': '建立群体投诉',
  'Group title': '群体投诉标题', 'Common cause': '共同原因', 'your team': '本团队', 'Looks like a group with': '疑似与以下投诉构成群体投诉',
  'Open a group from the suggestions': '从建议中建立群体投诉', 'Suggested groups': '疑似群体投诉',
  'Open complaints recorded close together with the same category and the same order, product or location.': '相近时间内登记、类别相同且订单、产品或地点相同的未办结投诉。',
  'No groups.': '没有群体投诉。', 'Opened by': '建立人', 'Last group update': '最近一次群体告知', 'Complaint reference to add': '要加入的投诉编号',
  'Close the group': '关闭群体投诉', 'No new members and no more group updates; each member keeps its own lifecycle.': '关闭后不再加入成员、不再统一告知；各成员投诉按各自流程继续处理。',
  'Reason for closing': '关闭原因', 'Close group': '关闭群体投诉', 'Only supervisors and agents of the lead team run this group.': '只有主管和牵头团队的客服可以管理该群体投诉。',
  'Tell every member': '统一告知全部成员', 'Update for the customers': '告知客户的内容', 'Update posted to': '已告知', 'Post group update': '发送群体告知',
  // work items
  'Work items': '协办事项', 'Work queue': '协办队列', 'Request work': '请求协办', 'Request': '请求内容', 'Result': '结果',
  'Team to ask': '协办团队', 'Kind of work': '协办类型', 'What is asked': '请求内容', 'Due by': '完成时限', 'Choose the team to ask.': '请选择协办团队。',
  'Work requested.': '已发出协办请求。', 'Open work asked of your team': '请本团队协办的未完成事项',
  'The earliest due first. Complete with the result, or decline with the reason.': '按时限排序。完成时填写结果，拒绝时填写原因。',
  'No open work for your team.': '本团队没有待办的协办事项。', 'You belong to no team, so no work is asked of you.': '您不属于任何团队，因此没有协办事项。',
  'Result or reason': '结果或拒绝原因', 'Complete': '完成', 'Decline': '拒绝',
  // role grants
  'Role grants': '权限授予审批', 'User': '用户', 'New role': '新角色', '(unchanged)': '（不变）', 'New authority limit': '新的审批权限额度',
  'A privileged role, a higher authority limit or a privileged new account takes effect only when a second administrator approves it: never its requester, never its grantee.':
    '授予特权角色、提高审批权限额度或创建特权账号，须经第二位管理员批准后才生效；申请人和被授予人本人均不得批准。',
  'Request a change of role or authority': '申请变更角色或权限额度', 'Request change': '提交申请', 'Choose a user.': '请选择用户。',
  'Requested for': '已为以下用户提交申请', 'it waits for a second administrator.': '等待第二位管理员批准。', 'Changed at once for': '已立即变更：',
  'No grants are waiting.': '没有待审批的授予申请。', 'Activates a new account': '启用新账号',
  'You requested this grant: a second administrator must approve it (four-eyes rule).': '这是您本人提出的申请：须由第二位管理员批准（双人原则）。',
  'This grant is to you: another administrator decides it (four-eyes rule).': '这是授予您本人的申请：须由其他管理员审批（双人原则）。',
  'Reason for rejecting': '驳回原因', 'Reason for withdrawing': '撤回原因', 'Withdraw': '撤回',
  // admin
  'Display name': '显示名称', 'Active': '启用', 'Authority limit': '审批权限额度', 'Create user': '创建用户', 'Name': '名称',
  'Create team': '创建团队', 'First response (min)': '首次响应（分钟）', 'Resolution (min)': '解决（分钟）',
  'Business hours only': '仅工作时间', 'Save policy': '保存策略', 'Deactivate': '停用', 'Reset password': '重置密码', 'Password reset token for': '密码重置令牌：', 'until': '有效至', 'yes': '是', 'no': '否',
};

const zhEnums = {
  NEW: '新登记', ACKNOWLEDGED: '已受理', INVESTIGATING: '调查中', RESOLUTION_PROPOSED: '已提出方案', PENDING_APPROVAL: '待审批',
  CUSTOMER_ACCEPTED: '客户已接受', RESOLVED: '已解决', CLOSED: '已结案', REOPENED: '已重开',
  PHONE: '电话', HOTLINE: '热线', ONLINE_CHAT: '在线客服', EMAIL: '邮件', IN_STORE: '门店', WEB_FORM: '网页表单', SOCIAL_MEDIA: '社交媒体',
  PRODUCT_QUALITY: '产品质量', SERVICE_ATTITUDE: '服务态度', LOGISTICS: '物流配送', SERVICE_DELAY: '服务延误', SYSTEM_FAILURE: '系统故障',
  DATA_LOSS: '数据丢失', BILLING: '计费', OTHER: '其他', LOW: '低', MEDIUM: '中', HIGH: '高', CRITICAL: '紧急',
  REFUND: '退款', REPLACEMENT: '换货', REPAIR: '维修', COMPENSATION: '赔偿', APOLOGY: '道歉', EXPLANATION: '解释',
  CALM: '平静', AGITATED: '激动', ANGRY: '愤怒', OPERATOR_ERROR: '操作失误', PRODUCT_DEFECT: '产品缺陷', EXTERNAL: '外部因素',
  FORCE_MAJEURE: '不可抗力', CUSTOMER_SIDE: '客户原因', UNKNOWN: '未知', TIER1: '一线', TIER2: '二线', TIER3: '三线',
  CUSTOMER_REQUEST: '客户要求', EXCEEDS_AUTHORITY: '超出权限', OVERDUE: '超时', HIGH_IMPACT: '重大影响', TECHNICAL: '技术原因', LEGAL: '法务',
  PENDING: '待审批', APPROVED: '已批准', REJECTED: '已驳回', CHAT_LOG: '聊天记录', SCREENSHOT: '截图', PHOTO: '照片', VIDEO: '视频',
  CALL_RECORDING: '通话录音', DOCUMENT: '文档', INTERNAL: '内部', CUSTOMER_UPDATE: '告知客户', DUPLICATE: '重复', RELATED: '相关', GROUP: '群体',
  AWAITING_APPROVAL: '等待审批', AWAITING_CUSTOMER: '等待客户', AWAITING_STOCK: '等待备货', AWAITING_THIRD_PARTY: '等待第三方',
  INBOUND: '客户来电/来信', OUTBOUND: '主动联系', ACKNOWLEDGEMENT: '受理告知', CALLBACK: '回访', CHASER: '客户催办', INTAKE: '登记',
  PROGRESS_UPDATE: '进度告知', DEMAND_REFUSED: '诉求不予支持', EXPLAINED: '已解释说明', RESOLVED_AT_FIRST_CONTACT: '首次接触即解决',
  RESOLVED_SATISFIED: '回访满意', UNREACHABLE: '无法联系', WITHDRAWN: '客户撤诉',
  OPEN: '处理中', COMPLETED: '已完成', DECLINED: '已拒绝', INVESTIGATE: '调查核实', IMPLEMENT: '落实补救', REFUND_PAYOUT: '退款/赔付',
  LOCATION: '地点', ORDER_REFERENCE: '订单号', PRODUCT_OR_SERVICE: '产品或服务',
  AGENT: '客服', SUPERVISOR: '主管', AUDITOR: '审计', ADMIN: '管理员',
};

const dictionaries = { en: {}, zh };
const enumDictionaries = { en: {}, zh: zhEnums };

let lang = localStorage.getItem('casework.lang') || ((navigator.language || '').toLowerCase().startsWith('zh') ? 'zh' : 'en');

export function getLang() { return lang; }
export function setLang(next) {
  lang = next === 'zh' ? 'zh' : 'en';
  localStorage.setItem('casework.lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}
setLang(lang);

/** The text in the current language. */
export function t(text) { return dictionaries[lang][text] || text; }

/** An enum value's label: `PENDING_APPROVAL` → "Pending approval" / "待审批". */
export function label(value) {
  if (value == null) return '';
  return enumDictionaries[lang][value] || (value.charAt(0) + value.slice(1).toLowerCase().replace(/_/g, ' '));
}

/** A date and time in the browser's time zone and the interface's language. */
export function when(iso) {
  if (!iso) return '–';
  return new Date(iso).toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

/** "2 h 5 min" from milliseconds. */
export function span(ms) {
  const m = Math.max(0, Math.round(Math.abs(ms) / 60000));
  const d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), min = m % 60;
  const [dd, hh, mm] = lang === 'zh' ? ['天', '小时', '分'] : [' d', ' h', ' min'];
  if (d) return `${d}${dd} ${h}${hh}`;
  if (h) return `${h}${hh} ${min}${mm}`;
  return `${min}${mm}`;
}
