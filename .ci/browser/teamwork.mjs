// Browser steps for the screens where teams work together: work asked of
// another team and its Work queue, group complaints, and role grants decided
// by a second administrator. Run by run.mjs after its dashboard step (so the
// dashboard's counts stay the demo's plus the run's own complaints), with its
// helpers and the references of the complaints the run recorded.

/**
 * @param {object} h run.mjs's helpers (step, context, signIn, shot, check),
 *   the agent's page, BASE, PASSWORD, and `reference` (the run's complaint,
 *   CLOSED by now) and `zhReference` (the Chinese run's, ACKNOWLEDGED).
 */
export async function teamworkSteps({ BASE, PASSWORD, step, context, signIn, shot, check, agent, reference, zhReference }) {
  const openComplaint = async (page, title) => {
    await page.goto(`${BASE}/console#/complaints`);
    await page.locator('table.list tbody tr', { hasText: title }).first().getByRole('link').click();
    await page.locator('h1 .ref').waitFor();
    return (await page.locator('h1 .ref').innerText()).trim();
  };
  let parcelReference;

  await step("an agent requests work from another team; that team's agent completes (and declines) it from the Work queue", async () => {
    parcelReference = await openComplaint(agent, "Pregnant customer's parcel delayed a week");
    const work = agent.locator('section.work-section');
    await work.locator('form.request-work').waitFor();
    const teamB = await work.getByLabel('Team to ask').locator('option', { hasText: 'Frontline B' }).getAttribute('value');
    check(await work.getByLabel('Team to ask').locator('option', { hasText: 'Frontline A' }).count() === 0, 'the handling team is not offered as "another team"');
    await work.getByLabel('Team to ask').selectOption(teamB);
    await work.getByLabel('Kind of work').selectOption('INVESTIGATE');
    await work.getByRole('button', { name: 'Request work' }).click();
    const fieldError = work.locator('.fieldrow.invalid .field-error');
    await fieldError.waitFor();
    check(/VALIDATION/.test(await fieldError.innerText()), `an empty request is flagged at its field with the API code (got ${await fieldError.innerText()})`);
    await work.getByLabel('What is asked').fill('Check the in-store pickup log for order ORD-88123401 at your branch');
    await work.getByRole('button', { name: 'Request work' }).click();
    await work.locator('table.work-items tbody tr', { hasText: 'pickup log' }).locator('.v-OPEN').waitFor();
    await work.getByLabel('Kind of work').selectOption('OTHER');
    await work.getByLabel('What is asked').fill('Photograph the shelf label of the parcel at your branch');
    await work.getByRole('button', { name: 'Request work' }).click();
    await work.locator('table.work-items tbody tr', { hasText: 'shelf label' }).waitFor();

    const ctx = await context();
    const page = await ctx.newPage();
    await signIn(page, 'agent2@example.com');
    await page.getByRole('link', { name: 'Work queue' }).click();
    await page.getByRole('heading', { name: 'Work queue' }).waitFor();
    const pickup = page.locator(`li.card[data-reference="${parcelReference}"]`, { hasText: 'pickup log' });
    const shelf = page.locator(`li.card[data-reference="${parcelReference}"]`, { hasText: 'shelf label' });
    await pickup.waitFor();
    await shelf.waitFor();
    await pickup.getByRole('button', { name: 'Complete' }).click();
    const refused = pickup.locator('.error');
    await refused.waitFor();
    check(/VALIDATION/.test(await refused.innerText()), `an empty result shows the API error and code (got ${await refused.innerText()})`);
    await shot(page, '23-work-queue');
    await pickup.getByLabel('Result or reason').fill('Log checked: the parcel never reached our branch; the carrier kept it at the hub');
    await pickup.getByRole('button', { name: 'Complete' }).click();
    await pickup.locator('.ok .v-COMPLETED').waitFor();
    await shelf.getByLabel('Result or reason').fill('The parcel is not at our branch, so there is no label to photograph');
    await shelf.getByRole('button', { name: 'Decline' }).click();
    await shelf.locator('.ok .v-DECLINED').waitFor();
    await ctx.close();

    await agent.reload();
    const rows = agent.locator('section.work-section table.work-items tbody tr');
    await rows.filter({ hasText: 'never reached our branch' }).locator('.v-COMPLETED').waitFor();
    await rows.filter({ hasText: 'no label to photograph' }).locator('.v-DECLINED').waitFor();
    await agent.locator('section.work-section').scrollIntoViewIfNeeded();
    await shot(agent, '24-complaint-work-items');
  });

  await step('a group page shows its members; an agent opens a group from a complaint, adds and removes a member, tells every member, and closes it', async () => {
    await openComplaint(agent, 'Elderly customer without broadband for three days');
    const panel = agent.locator('section.group-panel');
    await panel.locator('a', { hasText: /^GRP-/ }).waitFor();
    check(/3 members/.test(await panel.innerText()), `the demo group's three households (got ${await panel.innerText()})`);
    await panel.locator('a', { hasText: /^GRP-/ }).click();
    await agent.locator('.group-page h1 .ref').waitFor();
    const members = agent.locator('table.members tbody tr');
    await members.first().waitFor();
    check(await members.count() === 3, `three members listed (${await members.count()})`);
    check(await members.filter({ hasText: 'Children cannot attend online classes' }).count() === 1, 'a household by its title');
    await shot(agent, '25-group-page');

    await agent.getByRole('link', { name: 'Groups', exact: true }).click();
    await agent.getByRole('heading', { name: 'Groups', exact: true }).waitFor();
    const demoRow = agent.locator('table.groups tbody tr', { hasText: 'Broadband outage' });
    await demoRow.waitFor();
    check((await demoRow.locator('td').nth(3).innerText()).trim() === '3', 'the list counts the members');
    await agent.getByLabel('Status').selectOption('CLOSED');
    await agent.getByText('No groups.').waitFor();
    await agent.getByLabel('Status').selectOption('OPEN');
    await demoRow.waitFor();
    await shot(agent, '26-groups-list');

    await openComplaint(agent, "Pregnant customer's parcel delayed a week");
    const here = agent.locator('section.group-panel');
    await here.getByText('Not part of a group.').waitFor();
    await here.locator('summary', { hasText: 'Open a group complaint' }).click();
    await here.getByLabel('Group title').fill('Parcels held at the regional hub');
    await here.getByLabel('Common cause').fill('The carrier held parcels at its regional hub after a sorting fault');
    await here.getByRole('button', { name: 'Open group' }).click();
    await agent.locator('.group-page h1', { hasText: 'Parcels held at the regional hub' }).waitFor();
    await members.filter({ hasText: parcelReference }).waitFor();
    const add = agent.locator('form.add-member');
    // A closed complaint cannot join: the API's code is shown.
    await add.getByLabel('Complaint reference to add').fill(reference);
    await add.getByRole('button', { name: 'Add to group' }).click();
    await add.locator('.error').waitFor();
    check(/INVALID_TRANSITION/.test(await add.locator('.error').innerText()), `a closed complaint is refused with the API code (got ${await add.locator('.error').innerText()})`);
    await add.getByLabel('Complaint reference to add').fill(zhReference);
    await add.getByRole('button', { name: 'Add to group' }).click();
    await members.filter({ hasText: zhReference }).waitFor();
    check(await members.count() === 2, 'two members');
    await members.filter({ hasText: zhReference }).getByRole('button', { name: /Remove/ }).click();
    await agent.locator('#members-h', { hasText: '(1)' }).waitFor();
    const tell = agent.locator('form.group-update');
    await tell.getByLabel('Update for the customers').fill('The carrier releases the held parcels today; we call you once yours is out for delivery.');
    await tell.getByLabel('Delay reason').selectOption('AWAITING_THIRD_PARTY');
    await tell.getByRole('button', { name: 'Post group update' }).click();
    await tell.locator('.ok', { hasText: 'Update posted to 1 member' }).waitFor();
    const close = agent.locator('form.close-group');
    await close.getByRole('button', { name: 'Close group' }).click();
    const reasonError = close.locator('.fieldrow.invalid .field-error');
    await reasonError.waitFor();
    check(/VALIDATION/.test(await reasonError.innerText()), 'an empty reason is flagged with the API code');
    await close.getByLabel('Reason for closing').fill('Carrier released every held parcel; each case continues on its own');
    await close.getByRole('button', { name: 'Close group' }).click();
    await agent.locator('.group-page .status-line .v-CLOSED').waitFor();
    check(await agent.locator('form.add-member').count() === 0, 'a closed group takes no members');
    await shot(agent, '27-group-closed');
  });

  await step('three complaints about one order are suggested as a group; an agent opens the group from the suggestion', async () => {
    // Recorded through the API (as a second intake desk would), then handled in the console.
    const post = async (query, variables, token) => {
      const r = await fetch(`${BASE}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }) });
      const body = await r.json();
      if (body.errors) throw new Error(`API: ${JSON.stringify(body.errors)}`);
      return body.data;
    };
    const token = (await post('mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }', { e: 'agent2@example.com', p: PASSWORD })).login.accessToken;
    const refs = [];
    for (const [name, phone] of [['Mr. Tang Bo', '+86 137 0000 0001'], ['Ms. Xu Li', '+86 137 0000 0002'], ['Mr. Hu Kai', '+86 137 0000 0003']]) {
      const input = { channel: 'ONLINE_CHAT', category: 'LOGISTICS', severity: 'MEDIUM', title: 'Group-buy order never dispatched',
        description: 'Joined the neighbourhood group-buy; nothing was dispatched after ten days.', customer: { name, phone },
        coreDemand: 'REFUND', emotion: 'AGITATED', orderReference: 'GB-2026-5501' };
      refs.push((await post('mutation($i: CreateComplaintInput!) { createComplaint(input: $i) { reference } }', { i: input }, token)).createComplaint.reference);
    }
    const ctx = await context();
    const page = await ctx.newPage();
    await signIn(page, 'agent2@example.com');
    await openComplaint(page, 'Group-buy order never dispatched');
    const panel = page.locator('section.group-panel');
    await panel.getByText('Looks like a group with').waitFor();
    check(/GB-2026-5501/.test(await panel.innerText()), 'the shared order reference is named on the complaint page');
    await page.getByRole('link', { name: 'Groups', exact: true }).click();
    const card = page.locator('li.card', { hasText: 'GB-2026-5501' });
    await card.waitFor();
    for (const ref of refs) check(await card.getByRole('link', { name: ref }).count() === 1, `the suggestion lists ${ref}`);
    await shot(page, '34-group-candidates');
    await card.locator('summary', { hasText: 'Open a group complaint' }).click();
    check(await card.getByLabel('Group title').inputValue() === 'GB-2026-5501', 'the title starts as the shared value');
    await card.getByLabel('Group title').fill('Group-buy GB-2026-5501 never dispatched');
    await card.getByLabel('Common cause').fill('The group-buy supplier stopped shipping');
    await card.getByRole('button', { name: 'Open group' }).click();
    await page.locator('.group-page h1', { hasText: 'Group-buy GB-2026-5501' }).waitFor();
    await page.locator('#members-h', { hasText: '(3)' }).waitFor();
    await page.getByRole('link', { name: 'Groups', exact: true }).click();
    await page.locator('table.groups tbody tr', { hasText: 'Group-buy GB-2026-5501' }).waitFor();
    check(await page.locator('li.card', { hasText: 'GB-2026-5501' }).count() === 0, 'grouped complaints are no longer suggested');
    await ctx.close();
  });

  await step('role grants: admin requests a promotion, sees Approve unavailable on it (FORBIDDEN shown), admin2 approves', async () => {
    const ctx = await context();
    const page = await ctx.newPage();
    await signIn(page, 'admin@example.com');
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    const create = page.locator('form.grid');
    await create.getByLabel('Email').fill('qian.jun@example.com');
    await create.getByLabel('Display name').fill('Qian Jun (new agent)');
    await create.getByLabel('Team').selectOption({ label: 'Frontline A' });
    await create.getByRole('button', { name: 'Create user' }).click();
    await page.locator('table.list tbody tr', { hasText: 'qian.jun@example.com' }).waitFor();
    await page.getByRole('link', { name: 'Role grants' }).click();
    await page.getByRole('heading', { name: 'Role grants' }).waitFor();
    const request = page.locator('details.request-change');
    const user = await request.getByLabel('User').locator('option', { hasText: 'qian.jun@example.com' }).getAttribute('value');
    await request.getByLabel('User').selectOption(user);
    await request.getByLabel('New role').selectOption('SUPERVISOR');
    await request.getByRole('button', { name: 'Request change' }).click();
    await request.locator('.ok', { hasText: 'waits for a second administrator' }).waitFor();
    const own = page.locator('li.grant[data-user="qian.jun@example.com"]');
    await own.waitFor();
    check(/Agent → Supervisor/.test(await own.innerText()), `the change requested is shown (got ${await own.innerText()})`);
    check(/four-eyes/.test(await own.locator('.warn').innerText()), 'the four-eyes reason is shown');
    const approve = own.getByRole('button', { name: 'Approve' });
    check(await approve.getAttribute('aria-disabled') === 'true', 'Approve is marked unavailable on one\'s own request');
    // Still reachable by keyboard; the API refuses it and the console says so.
    await approve.focus();
    await page.keyboard.press('Enter');
    await own.locator('.error').waitFor();
    check(/FORBIDDEN/.test(await own.locator('.error').innerText()), `the API's FORBIDDEN is shown (got ${await own.locator('.error').innerText()})`);
    await shot(page, '28-role-grant-own-request', 'console-grants');

    const ctx2 = await context();
    const second = await ctx2.newPage();
    await signIn(second, 'admin2@example.com');
    await second.getByRole('link', { name: 'Role grants' }).click();
    const pending = second.locator('li.grant[data-user="qian.jun@example.com"]');
    await pending.waitFor();
    check(await pending.locator('.warn').count() === 0, 'no four-eyes warning for the second administrator');
    check(/Zhao Min/.test(await pending.innerText()), 'the requester is named');
    await shot(second, '29-role-grant-pending');
    await pending.getByRole('button', { name: 'Approve' }).click();
    await pending.locator('.v-APPROVED').waitFor();
    await second.getByRole('link', { name: 'Users' }).click();
    await second.locator('table.list tr', { hasText: 'qian.jun@example.com' }).locator('td', { hasText: 'Supervisor' }).waitFor();
    await second.getByRole('link', { name: 'Role grants' }).click();
    await second.getByLabel('Status').selectOption('APPROVED');
    await second.locator('li.grant[data-user="qian.jun@example.com"] .v-APPROVED').waitFor();
    await ctx2.close();
    await ctx.close();
  });

  await step('the Chinese group page, work queue and role grants', async () => {
    const ctx = await context({ locale: 'zh-CN' });
    const page = await ctx.newPage();
    await page.goto(`${BASE}/console`);
    await page.getByLabel(/Language|语言/).selectOption('zh');
    await page.getByLabel('邮箱').fill('agent@example.com');
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('link', { name: '群体投诉', exact: true }).click();
    await page.getByRole('heading', { name: '群体投诉', exact: true }).waitFor();
    await page.locator('table.groups tbody tr', { hasText: 'Broadband outage' }).getByRole('link').click();
    await page.getByRole('heading', { name: /成员投诉 \(3\)/ }).waitFor();
    check((await page.locator('.group-page dl').innerText()).includes('牵头团队'), 'labels in Chinese');
    await shot(page, '30-zh-group-page');
    await page.getByRole('link', { name: '协办队列' }).click();
    await page.getByRole('heading', { name: '协办队列' }).waitFor();
    await page.getByRole('button', { name: '退出' }).click();
    await page.getByLabel('邮箱').fill('admin@example.com');
    await page.getByLabel('密码').fill(PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.getByRole('link', { name: '权限授予审批' }).click();
    await page.getByRole('heading', { name: '权限授予审批' }).waitFor();
    await page.getByLabel('状态').selectOption('APPROVED');
    const approved = page.locator('li.grant[data-user="qian.jun@example.com"]');
    await approved.locator('.v-APPROVED', { hasText: '已批准' }).waitFor();
    check(/角色: → 主管/.test(await approved.innerText()) && (await approved.innerText()).includes('审批人'), `the change and who decided, in Chinese (got ${await approved.innerText()})`);
    await shot(page, '33-zh-role-grants');
    await ctx.close();
  });

  await step('the new screens work on a 390 px phone', async () => {
    const ctx = await context({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await ctx.newPage();
    await signIn(page, 'agent@example.com');
    const fits = async (what) => {
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      check(width <= 392, `${what} fits 390 px (scrollWidth ${width})`);
    };
    await openComplaint(page, "Pregnant customer's parcel delayed a week");
    await page.locator('section.work-section table.work-items').waitFor();
    await fits('the complaint page with work items and group');
    await page.goto(`${BASE}/console#/groups`);
    await page.locator('table.groups tbody tr').first().waitFor();
    await fits('the groups list');
    await page.locator('table.groups tbody tr', { hasText: 'Broadband outage' }).getByRole('link').click();
    await page.locator('table.members tbody tr').first().waitFor();
    await fits('the group page');
    await shot(page, '31-phone-group-page');
    await page.goto(`${BASE}/console#/work`);
    await page.getByRole('heading', { name: 'Work queue' }).waitFor();
    await fits('the work queue');
    await ctx.close();
    const admin = await context({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const adminPage = await admin.newPage();
    await signIn(adminPage, 'admin2@example.com');
    await adminPage.goto(`${BASE}/console#/grants`);
    await adminPage.getByRole('heading', { name: 'Role grants' }).waitFor();
    await adminPage.getByLabel('Status').selectOption('APPROVED');
    await adminPage.locator('li.grant').first().waitFor();
    const width = await adminPage.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 392, `role grants fit 390 px (scrollWidth ${width})`);
    await shot(adminPage, '32-phone-role-grants');
    await admin.close();
  });
}
