//! The README stays true: its lifecycle walkthrough runs as written, with the
//! outputs it shows, and every GraphQL document it prints fits in half the
//! query budget (issue 11; `TestApp::gql` checks each operation's reported cost).

use serde_json::{Value, json};

use crate::helpers::TestApp;

crate::on_both_databases!(the_readme_lifecycle_runs_as_written, every_readme_document_fits_in_half_the_budget);

const README: &str = include_str!("../../README.md");

/// The lines of the first fenced block of `lang` after the heading `heading`.
fn block_after(heading: &str, lang: &str) -> Vec<&'static str> {
    let start = README.find(heading).unwrap_or_else(|| panic!("README lacks `{heading}`"));
    let rest = &README[start..];
    let fence = format!("```{lang}\n");
    let open = rest.find(&fence).unwrap_or_else(|| panic!("no ```{lang} block after `{heading}`")) + fence.len();
    let close = rest[open..].find("```").expect("an unclosed block");
    rest[open..open + close].lines().collect()
}

/// The shell words in single quotes on `line`, in order.
fn quoted(line: &str) -> Vec<String> {
    line.split('\'').skip(1).step_by(2).map(str::to_owned).collect()
}

async fn the_readme_lifecycle_runs_as_written(app: &TestApp) {
    let script = block_after("## The whole lifecycle, with curl", "sh");
    let expected = block_after("## The whole lifecycle, with curl", "text");
    let agent = app.login_as("agent@example.com").await;

    // 1. Intake: the document and its variables, as the README writes them.
    let intake = script.iter().position(|l| l.starts_with("C=$(gql")).expect("the intake step");
    let mut text = script[intake..].iter().take_while(|l| !l.starts_with("echo")).copied().collect::<Vec<_>>().join("\n");
    text.truncate(text.rfind(')').expect("the closing parenthesis"));
    let words = quoted(&text);
    let (document, variables) = (&words[0], &words[1]);
    let variables: Value = serde_json::from_str(variables).expect("the README's intake variables are JSON");
    let created = app.ok(&agent, document, variables).await["createComplaint"].clone();
    assert_eq!(created["status"], "NEW");
    let id = created["id"].clone();

    // 2. Each `step`, compared with the output the README shows.
    let steps: Vec<&str> = script.iter().copied().filter(|l| l.starts_with("step ")).collect();
    assert_eq!(steps.len(), expected.len(), "one shown output per step");
    for (line, shown) in steps.iter().zip(&expected) {
        let code = line.split('#').next().unwrap();
        let mut words = code.split_whitespace().skip(1);
        let name = words.next().unwrap();
        let version: i64 = words.next().unwrap().parse().unwrap();
        let args = quoted(code);
        let (params, arguments) = (args.first().cloned().unwrap_or_default(), args.get(1).cloned().unwrap_or_default());
        let mut variables: Value = args.get(2).map(|v| serde_json::from_str(v).expect("JSON variables")).unwrap_or(json!({}));
        variables["id"] = id.clone();
        variables["v"] = json!(version);
        let query = format!("mutation($id: ID!, $v: Int! {params}) {{ {name}(id: $id, expectedVersion: $v {arguments}) {{ status version }} }}");
        let response = app.gql(Some(&agent), &query, variables).await;
        if shown.starts_with('{') {
            let shown: Value = serde_json::from_str(shown).unwrap();
            assert_eq!(response["data"][name], shown, "{line}: {response:#}");
        } else {
            let code = shown.rsplit("\"code\":\"").next().unwrap().split('"').next().unwrap();
            assert_eq!(crate::helpers::first_error_code(&response), code, "{line}: {response:#}");
        }
    }
}

/// Every query and mutation the README prints: the ```graphql blocks and the
/// `"query":"…"` bodies of its curl examples. Run with a supervisor's token
/// and no variables: a document with required variables answers a variable
/// error after its cost was computed and reported.
fn readme_documents() -> Vec<String> {
    let mut documents = Vec::new();
    let mut rest = README;
    while let Some(open) = rest.find("```graphql\n") {
        let body = &rest[open + 11..];
        let close = body.find("```").unwrap();
        for line in body[..close].lines() {
            let line = line.split(" # ").next().unwrap().trim_end();
            if line.starts_with('{') || line.starts_with("query") || line.starts_with("mutation") || line.starts_with("subscription") {
                documents.push(line.to_owned());
            } else if let Some(last) = documents.last_mut().filter(|_| !line.is_empty()) {
                last.push('\n');
                last.push_str(line);
            }
        }
        rest = &body[close..];
    }
    let mut rest = README;
    while let Some(at) = rest.find("{\"query\":\"") {
        let string = &rest[at + 9..];
        let mut de = serde_json::Deserializer::from_str(string).into_iter::<String>();
        documents.push(de.next().unwrap().expect("a JSON string"));
        rest = &string[1..];
    }
    documents
}

async fn every_readme_document_fits_in_half_the_budget(app: &TestApp) {
    let documents = readme_documents();
    assert!(documents.len() >= 6, "{documents:#?}");
    let supervisor = app.login_as("supervisor@example.com").await;
    for document in documents {
        let mut request = app.client.post(app.url("/graphql")).json(&json!({ "query": document }));
        if !document.contains("login(") {
            request = request.bearer_auth(&supervisor);
        }
        let body: Value = request.send().await.unwrap().json().await.unwrap();
        let cost = body["extensions"]["analyzer"]["complexity"].as_u64();
        let cost = cost.unwrap_or_else(|| panic!("no cost reported for {document}: {body:#}")) as usize;
        assert!(cost <= app.half_budget, "the README's `{document}` costs {cost}, over half the budget ({})", app.half_budget);
    }
}
