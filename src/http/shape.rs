//! Cheap checks of a document's shape before async-graphql validates it:
//! the abuse patterns the complexity budget does not see, because each piece
//! costs one point (graphql-cop's alias overloading, directive overloading
//! and field duplication). Refused as `QUERY_TOO_COMPLEX`, before any
//! resolver runs.

use async_graphql::parser::{
    Positioned,
    types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet},
};

/// Aliased fields in one document.
pub const MAX_ALIASES: usize = 100;
/// Directives on one field, fragment or operation.
pub const MAX_DIRECTIVES: usize = 4;
/// Times one response key may appear in one selection set.
pub const MAX_DUPLICATES: usize = 3;

/// The reason a document is refused, or `None` (a syntax error is left to
/// async-graphql, which reports it properly).
#[cfg(test)]
pub fn check(query: &str) -> Option<String> {
    check_document(&async_graphql::parser::parse_query(query).ok()?)
}

/// The reason a parsed document is refused, or `None`.
pub fn check_document(document: &ExecutableDocument) -> Option<String> {
    let mut counts = Counts::default();
    walk_document(document, &mut counts)
}

#[derive(Default)]
struct Counts {
    aliases: usize,
}

fn walk_document(document: &ExecutableDocument, counts: &mut Counts) -> Option<String> {
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops.values().collect(),
    };
    for op in operations {
        if let Some(reason) = directives(op.node.directives.len()).or_else(|| walk(&op.node.selection_set, counts)) {
            return Some(reason);
        }
    }
    for fragment in document.fragments.values() {
        if let Some(reason) = directives(fragment.node.directives.len()).or_else(|| walk(&fragment.node.selection_set, counts)) {
            return Some(reason);
        }
    }
    None
}

fn directives(count: usize) -> Option<String> {
    (count > MAX_DIRECTIVES).then(|| format!("at most {MAX_DIRECTIVES} directives on one field or fragment"))
}

fn walk(set: &Positioned<SelectionSet>, counts: &mut Counts) -> Option<String> {
    let mut keys: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for item in &set.node.items {
        let reason = match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                if field.alias.is_some() {
                    counts.aliases += 1;
                    if counts.aliases > MAX_ALIASES {
                        return Some(format!("at most {MAX_ALIASES} aliases in one document"));
                    }
                }
                let seen = keys.entry(field.response_key().node.as_str()).or_default();
                *seen += 1;
                if *seen > MAX_DUPLICATES {
                    return Some(format!("the field {} is selected more than {MAX_DUPLICATES} times", field.response_key().node));
                }
                directives(field.directives.len()).or_else(|| walk(&field.selection_set, counts))
            }
            Selection::FragmentSpread(spread) => directives(spread.node.directives.len()),
            Selection::InlineFragment(inline) => {
                directives(inline.node.directives.len()).or_else(|| walk(&inline.node.selection_set, counts))
            }
        };
        if reason.is_some() {
            return reason;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn ordinary_documents_pass() {
        assert_eq!(check("{ me { id email } a: complaints(first: 5) { totalCount } b: complaints(first: 1) { totalCount } }"), None);
        assert_eq!(check("query Q { me { ...F } } fragment F on User { id }"), None);
        assert_eq!(check("{ not valid"), None, "syntax errors are async-graphql's to report");
    }

    #[test]
    fn overloading_is_refused() {
        let aliases: String = (0..=100).map(|i| format!("a{i}: __typename ")).collect();
        assert!(check(&format!("{{ {aliases} }}")).is_some());
        assert!(check(&format!("{{ __typename {} }}", "@aa ".repeat(10))).is_some());
        assert!(check(&format!("{{ {} }}", "__typename ".repeat(500))).is_some());
    }
}
