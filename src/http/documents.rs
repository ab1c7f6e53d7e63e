//! Parsed documents by query text. A front end sends the same few documents
//! over and over; each was parsed twice per request (the shape check, then
//! async-graphql). Here a document is parsed and shape-checked once, and
//! later requests with the same text get a copy of the parsed document
//! (`Request::set_parsed_query`), so async-graphql skips its parse. Validation
//! and the complexity budget still run on every request (they depend on the
//! variables and the schema). Bounded: documents longer than
//! [`MAX_QUERY_BYTES`] are not kept, and the cache starts over when it holds
//! [`MAX_ENTRIES`] — a client sending endless distinct documents only costs
//! itself the parse it would have paid anyway.

use std::{collections::HashMap, sync::Mutex};

use async_graphql::parser::types::ExecutableDocument;

use super::shape;

/// Documents kept at most.
pub const MAX_ENTRIES: usize = 512;
/// Longer documents are parsed every time.
pub const MAX_QUERY_BYTES: usize = 16 * 1024;

#[derive(Clone)]
enum Parsed {
    Accepted(ExecutableDocument),
    Refused(String),
}

#[derive(Default)]
pub struct Documents {
    entries: Mutex<HashMap<String, Parsed>>,
}

impl Documents {
    /// Hands `request` its parsed document, or the reason the shape check
    /// refuses it. A syntax error is left to async-graphql to report.
    pub fn prepare(&self, request: &mut async_graphql::Request) -> Option<String> {
        let cached = self.entries.lock().ok().and_then(|entries| entries.get(&request.query).cloned());
        let parsed = match cached {
            Some(parsed) => parsed,
            None => {
                let document = async_graphql::parser::parse_query(&request.query).ok()?;
                let parsed = match shape::check_document(&document) {
                    Some(reason) => Parsed::Refused(reason),
                    None => Parsed::Accepted(document),
                };
                if request.query.len() <= MAX_QUERY_BYTES
                    && let Ok(mut entries) = self.entries.lock()
                {
                    if entries.len() >= MAX_ENTRIES {
                        entries.clear();
                    }
                    entries.insert(request.query.clone(), parsed.clone());
                }
                parsed
            }
        };
        match parsed {
            Parsed::Accepted(document) => {
                request.set_parsed_query(document);
                None
            }
            Parsed::Refused(reason) => Some(reason),
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_document_is_parsed_once_and_refusals_are_remembered() {
        let documents = Documents::default();
        let mut first = async_graphql::Request::new("{ me { id } }");
        assert_eq!(documents.prepare(&mut first), None);
        assert!(first.parsed_query().is_ok());
        let mut again = async_graphql::Request::new("{ me { id } }");
        assert_eq!(documents.prepare(&mut again), None);
        assert_eq!(documents.len(), 1);
        let overloaded = format!("{{ {} }}", "__typename ".repeat(500));
        for _ in 0..2 {
            assert!(documents.prepare(&mut async_graphql::Request::new(overloaded.clone())).is_some());
        }
        assert_eq!(documents.len(), 2);
        // A syntax error is not kept: async-graphql reports it.
        assert_eq!(documents.prepare(&mut async_graphql::Request::new("{ not valid")), None);
        assert_eq!(documents.len(), 2);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let documents = Documents::default();
        for i in 0..(MAX_ENTRIES + 10) {
            documents.prepare(&mut async_graphql::Request::new(format!("{{ a{i}: __typename }}")));
        }
        assert!(documents.len() <= MAX_ENTRIES);
        let long = format!("{{ {} }}", "__typename\n".repeat(MAX_QUERY_BYTES / 10));
        let before = documents.len();
        documents.prepare(&mut async_graphql::Request::new(long));
        assert_eq!(documents.len(), before, "long documents are not kept");
    }
}
