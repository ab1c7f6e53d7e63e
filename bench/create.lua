-- wrk script: createComplaint, each with its audit event.
local token = os.getenv("TOKEN")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.body = [[{"query":"mutation($i: CreateComplaintInput!) { createComplaint(input: $i) { id } }","variables":{"i":{"channel":"PHONE","category":"LOGISTICS","severity":"MEDIUM","title":"Parcel late","description":"Benchmark complaint","customer":{"name":"Bench Customer","phone":"+86 138 0000 0000"},"coreDemand":"APOLOGY","emotion":"CALM"}}}]]
