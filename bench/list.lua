-- wrk script: the complaint list a supervisor's screen loads — 50 complaints
-- with customer, assignee and latest escalation.
local token = os.getenv("TOKEN")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = '{"query":"{ complaints(first: 50) { edges { node { id reference status severity title createdAt resolutionDue customer { name phone } assignee { displayName } latestEscalation { trigger status } } } } }"}'
