"""schemathesis hooks for casework (loaded by .ci/conformance.sh).

schemathesis' own GraphQL check counts every `errors` entry as a server
error, but FORBIDDEN or VALIDATION answers to random input are the API
working. This check fails on what is actually broken: a 5xx, a body that is
not a GraphQL response, an error without `extensions.code`, or an INTERNAL one.
"""

import schemathesis


@schemathesis.check
def casework_no_server_error(response, case):
    assert response.status_code < 500, f"HTTP {response.status_code}"
    try:
        body = response.json()
    except Exception:
        raise AssertionError(f"the response is not JSON: {response.text[:200]!r}")
    assert isinstance(body, dict) and ("data" in body or "errors" in body), f"not a GraphQL response: {body!r:.200}"
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code, f"an error without extensions.code: {error!r:.300}"
        assert code != "INTERNAL", f"an INTERNAL error: {error!r:.300}"


# `Upload` is only meaningful in a multipart request; over JSON the server must
# refuse whatever stands in for a file (including a forged upload marker).
from hypothesis import strategies as st  # noqa: E402
from schemathesis.graphql import nodes  # noqa: E402

schemathesis.graphql.scalar(
    "Upload", st.sampled_from(["", "file.png", "#__graphql_file__:0", "#__graphql_file__:99"]).map(nodes.String)
)
