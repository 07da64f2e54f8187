//! The Dropbox event catalogue, as engine data: every event type with its
//! category and description, every category with its status, and one wire
//! example per type (its `details`). Parsed once, on first use, from the
//! files in `crates/teamlog-core/data/`; `teamlog generate` draws events from
//! it and `--lint` checks events against it.

use std::collections::HashMap;
use std::sync::OnceLock;

const EVENT_TYPES_TSV: &str = include_str!("../data/event_types.tsv");
const EVENT_CATEGORIES_TSV: &str = include_str!("../data/event_categories.tsv");
const SPEC_EXAMPLES: &str = include_str!("../data/spec_examples.ndjson");

/// One event type (`event_type[".tag"]`).
#[derive(Debug, Clone)]
pub struct EventType {
    pub tag: &'static str,
    /// The category it is filed under (`event_category[".tag"]`).
    pub category: &'static str,
    /// The description without the `(category) ` prefix the API writes.
    pub description: &'static str,
}

/// Whether a category is still in the API's spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CategoryStatus {
    Current,
    /// Dropbox removed it from the spec (`removed_from_spec`).
    Retired,
}

/// One event category.
#[derive(Debug, Clone)]
pub struct Category {
    pub tag: &'static str,
    pub status: CategoryStatus,
    /// The catalogue's word for the status (`current`, `removed_from_spec`).
    pub status_text: &'static str,
    pub description: &'static str,
}

/// The whole catalogue.
#[derive(Debug)]
pub struct Catalogue {
    pub types: Vec<EventType>,
    pub categories: Vec<Category>,
    type_index: HashMap<&'static str, usize>,
    category_index: HashMap<&'static str, usize>,
    /// Parsed on first use: only `generate` reads them.
    examples: OnceLock<HashMap<String, &'static str>>,
}

impl Catalogue {
    /// The embedded catalogue, parsed on first use.
    pub fn get() -> &'static Catalogue {
        static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
        CATALOGUE.get_or_init(Catalogue::parse)
    }

    fn parse() -> Catalogue {
        let categories: Vec<Category> = EVENT_CATEGORIES_TSV
            .lines()
            .skip(1) // header
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let cols: Vec<&'static str> = l.split('\t').collect();
                let [tag, status, _, _, description] = cols[..] else {
                    panic!("event_categories.tsv: bad row {l:?}");
                };
                Category {
                    tag,
                    status: if status == "current" {
                        CategoryStatus::Current
                    } else {
                        CategoryStatus::Retired
                    },
                    status_text: status,
                    description,
                }
            })
            .collect();
        let types: Vec<EventType> = EVENT_TYPES_TSV
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut cols = l.splitn(3, '\t');
                let (Some(tag), Some(category), Some(description)) =
                    (cols.next(), cols.next(), cols.next())
                else {
                    panic!("event_types.tsv: bad row {l:?}");
                };
                EventType {
                    tag,
                    category,
                    description,
                }
            })
            .collect();
        Catalogue {
            type_index: types.iter().enumerate().map(|(i, t)| (t.tag, i)).collect(),
            category_index: categories
                .iter()
                .enumerate()
                .map(|(i, c)| (c.tag, i))
                .collect(),
            types,
            categories,
            examples: OnceLock::new(),
        }
    }

    fn parse_examples() -> HashMap<String, &'static str> {
        let mut examples = HashMap::new();
        for line in SPEC_EXAMPLES.lines().filter(|l| !l.trim().is_empty()) {
            #[derive(serde::Deserialize)]
            struct Tagged {
                #[serde(rename = ".tag")]
                tag: String,
            }
            #[derive(serde::Deserialize)]
            struct Example<'a> {
                event_type: Tagged,
                #[serde(borrow)]
                details: &'a serde_json::value::RawValue,
            }
            let ex: Example<'static> =
                serde_json::from_str(line).expect("spec_examples.ndjson is valid");
            examples.insert(ex.event_type.tag, ex.details.get());
        }
        examples
    }

    /// The event type named `tag`, if Dropbox documents it.
    pub fn event_type(&self, tag: &str) -> Option<&EventType> {
        self.type_index.get(tag).map(|&i| &self.types[i])
    }

    /// The category named `tag`, if Dropbox documents it.
    pub fn category(&self, tag: &str) -> Option<&Category> {
        self.category_index.get(tag).map(|&i| &self.categories[i])
    }

    /// The example `details` (raw JSON text) of an event type, when the spec has one.
    pub fn example_details(&self, tag: &str) -> Option<&'static str> {
        self.examples
            .get_or_init(Catalogue::parse_examples)
            .get(tag)
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_is_filed_under_a_known_category() {
        let c = Catalogue::get();
        assert_eq!(c.types.len(), 643);
        assert_eq!(c.categories.len(), 40);
        for t in &c.types {
            assert!(
                c.category(t.category).is_some(),
                "{} -> {}",
                t.tag,
                t.category
            );
        }
        let current = c
            .categories
            .iter()
            .filter(|c| c.status == CategoryStatus::Current)
            .count();
        assert_eq!(current, 26);
    }

    #[test]
    fn lookups_and_examples() {
        let c = Catalogue::get();
        let t = c.event_type("login_success").unwrap();
        assert_eq!(t.category, "logins");
        assert_eq!(
            c.category("logins").unwrap().status,
            CategoryStatus::Current
        );
        assert_eq!(
            c.category("account_capture").unwrap().status,
            CategoryStatus::Retired
        );
        assert!(c.event_type("no_such_type").is_none());
        assert!(c
            .example_details("login_success")
            .unwrap()
            .contains("login_success_details"));
    }
}
