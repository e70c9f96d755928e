//! The keyed ticket search.
//!
//! A query matches a ticket when every word is in its subject or a message (keyed
//! terms, merged or still pending), its requester's name, a tag, or a searchable
//! field's value; or when the whole query is such a field's value, a tag, or the
//! requester's address.
//!
//! Written as one predicate over the tickets table newest first, PostgreSQL hashed
//! each word's whole posting list before walking the tickets, so a search grew with
//! the desk (`bench/scale.sh`; see bench/RESULTS.md). So a word drives the search
//! instead: the merged postings are kept in ticket time (migration 0046), and the
//! driving word's newest tickets are read from that index range, each tested for the
//! other words by index probes, until a page is full. Its other sources (pending texts,
//! names, tags, field values) and the whole-query matches are merged into that stream
//! as a small sorted set. A word qualifies to drive when those other sources hold
//! fewer than [`DRIVING_BELOW`] of its tickets (counted first, with bounded counts);
//! among those, the one in the fewest tickets. Only when every word is common as a
//! name, tag or field value are the newest tickets walked instead, which finds a page
//! quickly because such matches are dense.

use palisade_core::CustomFieldId;
use palisade_crypto::search_terms;
use sqlx::{AssertSqlSafe, Row};

use crate::ticket_lists::scope_sql;
use crate::tickets::{SEARCH_DOMAIN, ticket_select};
use crate::{Dialect, Store, StoreError, TicketRecord, TicketScope};

/// A word in fewer tickets than this outside the term index may drive the search;
/// counting stops here.
const DRIVING_BELOW: i64 = 1_000;

/// At most this many words of a query count.
const MAX_WORDS: usize = 16;

/// What a ticket search looks at besides subjects, public messages and requesters.
#[derive(Clone, Debug, Default)]
pub struct TicketSearch<'a> {
    pub query: &'a str,
    /// Words of internal notes count (staff who may read them).
    pub include_internal: bool,
    /// Tags count (staff).
    pub include_tags: bool,
    /// The query may be a requester's whole address (staff who may see addresses).
    pub include_addresses: bool,
    /// Fields whose values are kept as they are (not personal) and that the searcher
    /// may see: a word of the query may be one's whole value, in any case.
    pub word_fields: Vec<CustomFieldId>,
    /// A field the searcher may see and the key of the whole query as its value
    /// ([`Store::field_match_key`]).
    pub whole_values: Vec<(CustomFieldId, String)>,
}

/// The statement's parameters, numbered in the order they first appear in its text
/// (SQLite numbers named parameters that way).
#[derive(Default)]
struct Params(Vec<String>);

impl Params {
    fn next(&mut self, value: impl Into<String>) -> String {
        self.0.push(value.into());
        format!("${}", self.0.len())
    }
}

/// Where one word of a query may be found.
struct Word {
    term: String,
    name_term: String,
    folded: String,
}

/// Where the whole query may be found, besides its words.
enum Whole {
    FieldValue(CustomFieldId, String),
    Address(String),
    Tag(String),
}

struct Plan<'a> {
    dialect: Dialect,
    search: &'a TicketSearch<'a>,
    scope: &'a TicketScope,
}

impl Plan<'_> {
    fn pending_has(&self, term: &str) -> String {
        // Each pending row is a JSON array of hex terms, so a quoted term matches only itself.
        match self.dialect {
            Dialect::Postgres => format!("strpos(terms, '\"' || {term} || '\"') > 0"),
            Dialect::Sqlite => format!("instr(terms, '\"' || {term} || '\"') > 0"),
        }
    }

    /// The visibility condition on a term or pending row named `alias`.
    fn visible(&self, alias: &str) -> String {
        if self.search.include_internal {
            String::new()
        } else {
            format!(" AND {alias}.visibility = 'public'")
        }
    }

    fn field_list(&self, params: &mut Params) -> String {
        self.search
            .word_fields
            .iter()
            .map(|f| params.next(f.to_string()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// True of ticket `t` when `word` is in it: an index probe per source (the term
    /// index's key leads with the term and the ticket's time, both known here).
    fn word_test(&self, word: &Word, params: &mut Params) -> String {
        let mut any = vec![
            format!(
                "EXISTS (SELECT 1 FROM search_terms s WHERE s.term = {} AND s.ticket_created_at = t.created_at \
                 AND s.ticket_id = t.id{})",
                params.next(word.term.clone()),
                self.visible("s")
            ),
            // Pending texts are few (the merge keeps up), but the table's planner
            // statistics rarely say so: read once per query, not probed per ticket.
            format!(
                "t.id IN (SELECT p.ticket_id FROM search_pending p WHERE {}{})",
                self.pending_has(&params.next(word.term.clone())),
                self.visible("p")
            ),
            format!(
                "EXISTS (SELECT 1 FROM people_terms n WHERE n.term = {} AND n.user_id = t.requester_id)",
                params.next(word.name_term.clone())
            ),
        ];
        if self.search.include_tags {
            any.push(format!(
                "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = {})",
                params.next(word.folded.clone())
            ));
        }
        if !self.search.word_fields.is_empty() {
            let fields = self.field_list(params);
            any.push(format!(
                "EXISTS (SELECT 1 FROM ticket_field_values f WHERE f.ticket_id = t.id AND f.field_id IN ({fields}) \
                 AND f.value_fold = {})",
                params.next(word.folded.clone())
            ));
        }
        format!("({})", any.join(" OR "))
    }

    /// The ids of the tickets `word` is in outside the merged term index: pending
    /// texts, requesters' names, tags and field values.
    fn other_sets(&self, word: &Word, params: &mut Params) -> Vec<String> {
        let mut sets = vec![
            format!(
                "SELECT p.ticket_id FROM search_pending p WHERE {}{}",
                self.pending_has(&params.next(word.term.clone())),
                self.visible("p")
            ),
            format!(
                "SELECT id FROM tickets WHERE requester_id IN (SELECT user_id FROM people_terms WHERE term = {})",
                params.next(word.name_term.clone())
            ),
        ];
        if self.search.include_tags {
            sets.push(format!(
                "SELECT ticket_id FROM ticket_tags WHERE tag = {}",
                params.next(word.folded.clone())
            ));
        }
        if !self.search.word_fields.is_empty() {
            let fields = self.field_list(params);
            sets.push(format!(
                "SELECT ticket_id FROM ticket_field_values WHERE field_id IN ({fields}) AND value_fold = {}",
                params.next(word.folded.clone())
            ));
        }
        sets
    }

    /// How many tickets `word` is in: in the term index, and in the other sets
    /// (pending texts left out: the merge keeps them few); each source counted up to
    /// [`DRIVING_BELOW`].
    fn word_counts(&self, word: &Word, params: &mut Params) -> [String; 2] {
        let bounded = |set: String| format!("(SELECT COUNT(*) FROM ({set} LIMIT {DRIVING_BELOW}) c)");
        let text = bounded(format!(
            "SELECT 1 FROM search_terms s WHERE s.term = {}{}",
            params.next(word.term.clone()),
            self.visible("s")
        ));
        let mut others = vec![bounded(format!(
            "SELECT 1 FROM tickets WHERE requester_id IN (SELECT user_id FROM people_terms WHERE term = {})",
            params.next(word.name_term.clone())
        ))];
        if self.search.include_tags {
            others.push(bounded(format!(
                "SELECT 1 FROM ticket_tags WHERE tag = {}",
                params.next(word.folded.clone())
            )));
        }
        if !self.search.word_fields.is_empty() {
            let fields = self.field_list(params);
            others.push(bounded(format!(
                "SELECT 1 FROM ticket_field_values WHERE field_id IN ({fields}) AND value_fold = {}",
                params.next(word.folded.clone())
            )));
        }
        [text, others.join(" + ")]
    }

    fn whole_test(whole: &Whole, params: &mut Params) -> String {
        match whole {
            Whole::FieldValue(field, key) => format!(
                "EXISTS (SELECT 1 FROM ticket_field_values f WHERE f.ticket_id = t.id AND f.field_id = {} \
                 AND f.value_key = {})",
                params.next(field.to_string()),
                params.next(key.clone())
            ),
            Whole::Address(term) => format!(
                "EXISTS (SELECT 1 FROM people_terms n WHERE n.term = {} AND n.user_id = t.requester_id)",
                params.next(term.clone())
            ),
            Whole::Tag(tag) => format!(
                "EXISTS (SELECT 1 FROM ticket_tags g WHERE g.ticket_id = t.id AND g.tag = {})",
                params.next(tag.clone())
            ),
        }
    }

    fn whole_set(whole: &Whole, params: &mut Params) -> String {
        match whole {
            Whole::FieldValue(field, key) => format!(
                "SELECT ticket_id FROM ticket_field_values WHERE field_id = {} AND value_key = {}",
                params.next(field.to_string()),
                params.next(key.clone())
            ),
            Whole::Address(term) => format!(
                "SELECT id FROM tickets WHERE requester_id IN (SELECT user_id FROM people_terms WHERE term = {})",
                params.next(term.clone())
            ),
            Whole::Tag(tag) => format!(
                "SELECT ticket_id FROM ticket_tags WHERE tag = {}",
                params.next(tag.clone())
            ),
        }
    }

    /// What ticket `t` must satisfy: every word, or the whole query one way, and the
    /// searcher's scope. `known` is a word the ticket is already known to have (it
    /// came from that word's visible postings), so it is not tested again.
    fn matches(&self, words: &[Word], known: Option<usize>, wholes: &[Whole], params: &mut Params) -> String {
        let mut alternatives = Vec::new();
        if !words.is_empty() {
            let all: Vec<String> = words
                .iter()
                .enumerate()
                .filter(|(i, _)| Some(*i) != known)
                .map(|(_, w)| self.word_test(w, params))
                .collect();
            alternatives.push(if all.is_empty() {
                "1 = 1".to_owned()
            } else {
                all.join(" AND ")
            });
        }
        alternatives.extend(wholes.iter().map(|w| Plan::whole_test(w, params)));
        let (scope_where, scope_params) = scope_sql(self.scope, params.0.len());
        params.0.extend(scope_params);
        format!("(({})) AND {scope_where}", alternatives.join(") OR ("))
    }
}

impl Store {
    /// Tickets within `scope` that `search` finds, newest first: each word of the
    /// query is in the subject or a message, the requester's name, a tag, or the value
    /// of a field the search may look at; or the whole query is the value of such a
    /// field, a tag, or (for those who may see it) the requester's address.
    pub async fn search_tickets(
        &self,
        scope: &TicketScope,
        search: &TicketSearch<'_>,
        limit: u32,
    ) -> Result<Vec<TicketRecord>, StoreError> {
        let words: Vec<Word> = search_terms(search.query)
            .into_iter()
            .take(MAX_WORDS)
            .map(|word| Word {
                term: self.keys.search_index().compute(SEARCH_DOMAIN, &word),
                name_term: self.name_term(&word),
                folded: word,
            })
            .collect();
        let whole = search.query.trim();
        let mut wholes: Vec<Whole> = search
            .whole_values
            .iter()
            .map(|(field, key)| Whole::FieldValue(field.clone(), key.clone()))
            .collect();
        if search.include_addresses && whole.contains('@') {
            wholes.push(Whole::Address(self.address_term(whole)));
        }
        if search.include_tags && !whole.is_empty() && whole.len() <= 64 {
            wholes.push(Whole::Tag(whole.to_lowercase()));
        }
        if words.is_empty() && wholes.is_empty() {
            return Ok(Vec::new());
        }
        let plan = Plan {
            dialect: self.dialect,
            search,
            scope,
        };
        let driver = self.driving_word(&plan, &words).await?;
        let mut params = Params::default();
        let sql = if driver.is_some() || words.is_empty() {
            // The driving word's newest tickets in the term index, merged with the
            // small sorted set of its other tickets and the whole-query matches;
            // every candidate is still tested. Each half is ordered and limited on
            // its own, so PostgreSQL plans the index range read newest first and
            // stops at a page (ordered only as a whole, it sorted every posting of
            // the word). A ticket with postings of several visibilities is taken at
            // the first of them only, by a probe that keeps the stream ordered (a
            // DISTINCT let PostgreSQL hash every posting of the word at a million
            // tickets), and the halves are merged by UNION, so each ticket comes once.
            let mut branches = Vec::new();
            if let Some(i) = driver {
                let first_visibility = if search.include_internal {
                    " AND NOT EXISTS (SELECT 1 FROM search_terms v WHERE v.term = d.term \
                     AND v.ticket_created_at = d.ticket_created_at AND v.ticket_id = d.ticket_id \
                     AND v.visibility < d.visibility)"
                } else {
                    ""
                };
                branches.push(format!(
                    "SELECT id, at FROM (SELECT d.ticket_id AS id, d.ticket_created_at AS at \
                     FROM search_terms d JOIN tickets t ON t.id = d.ticket_id AND t.created_at = d.ticket_created_at \
                     WHERE d.term = {}{}{first_visibility} AND {} \
                     ORDER BY d.ticket_created_at DESC, d.ticket_id DESC LIMIT {limit}) AS postings",
                    params.next(words[i].term.clone()),
                    plan.visible("d"),
                    plan.matches(&words, driver, &wholes, &mut params)
                ));
            }
            let mut sets = driver.map_or_else(Vec::new, |i| plan.other_sets(&words[i], &mut params));
            sets.extend(wholes.iter().map(|w| Plan::whole_set(w, &mut params)));
            branches.push(format!(
                "SELECT id, at FROM (SELECT t.id AS id, t.created_at AS at FROM tickets t WHERE t.id IN ({}) AND {} \
                 ORDER BY t.created_at DESC, t.id DESC LIMIT {limit}) AS others",
                sets.join(" UNION "),
                plan.matches(&words, None, &wholes, &mut params)
            ));
            format!(
                "{} ORDER BY at DESC, id DESC LIMIT {limit}",
                branches.join(" UNION ")
            )
        } else {
            format!(
                "SELECT t.id AS id FROM tickets t WHERE {} ORDER BY t.created_at DESC, t.id DESC LIMIT {limit}",
                plan.matches(&words, None, &wholes, &mut params)
            )
        };
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for p in &params.0 {
            q = q.bind(p.as_str());
        }
        let ids = q
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|row| row.try_get::<String, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
        self.tickets_newest_first(&ids).await
    }

    /// The tickets with these ids, newest first.
    async fn tickets_newest_first(&self, ids: &[String]) -> Result<Vec<TicketRecord>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{select} WHERE t.id IN ({}) ORDER BY t.created_at DESC, t.id DESC",
            (1..=ids.len())
                .map(|n| format!("${n}"))
                .collect::<Vec<_>>()
                .join(", "),
            select = ticket_select(self.dialect),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in ids {
            q = q.bind(id.as_str());
        }
        let rows = q.fetch_all(&self.read).await?;
        self.tickets_from_rows(&rows).await
    }

    /// The word to drive the search: of those in fewer than [`DRIVING_BELOW`]
    /// tickets outside the term index, the one in the fewest tickets overall. One
    /// statement, each count bounded.
    async fn driving_word(&self, plan: &Plan<'_>, words: &[Word]) -> Result<Option<usize>, StoreError> {
        if words.is_empty() {
            return Ok(None);
        }
        let mut params = Params::default();
        let columns: Vec<String> = words
            .iter()
            .flat_map(|w| plan.word_counts(w, &mut params))
            .collect();
        let sql = format!("SELECT {}", columns.join(", "));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for p in &params.0 {
            q = q.bind(p.as_str());
        }
        let row = q.fetch_one(&self.read).await?;
        let mut driver: Option<(usize, i64)> = None;
        for i in 0..words.len() {
            let in_terms: i64 = row.try_get(2 * i)?;
            let elsewhere: i64 = row.try_get(2 * i + 1)?;
            let total = in_terms + elsewhere;
            if elsewhere < DRIVING_BELOW && driver.is_none_or(|(_, fewest)| total < fewest) {
                driver = Some((i, total));
            }
        }
        Ok(driver.map(|(i, _)| i))
    }
}
