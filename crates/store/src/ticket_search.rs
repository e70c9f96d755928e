//! The keyed ticket search.
//!
//! A query matches a ticket when every word is in its subject or a message (keyed
//! terms, merged or still pending), its requester's name, a tag, or a searchable
//! field's value; or when the whole query is such a field's value, a tag, or the
//! requester's address. Written as one predicate over the tickets table newest first,
//! PostgreSQL hashed each word's whole posting list and then walked the tickets until
//! it had a page: a rare word behind a common one ("reference 48213") read every
//! ticket. So bounded counts are asked first, and a word in fewer than 1,000 tickets
//! drives the query: only its tickets are read, sorted and tested for the other words.
//! With only common words the newest tickets are walked, which finds a page quickly
//! because matches are dense, but PostgreSQL may still hash those words' postings, so
//! that path grows with the desk (`bench/scale.sh`; see bench/RESULTS.md).

use palisade_core::CustomFieldId;
use palisade_crypto::search_terms;
use sqlx::{AssertSqlSafe, Row};

use crate::ticket_lists::scope_sql;
use crate::tickets::{SEARCH_DOMAIN, ticket_select};
use crate::{Dialect, Store, StoreError, TicketRecord, TicketScope};

/// A word found in fewer tickets than this drives the search; counting stops here.
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
    visibility: &'static str,
}

impl Plan<'_> {
    fn pending_has(&self, term: &str) -> String {
        // Each pending row is a JSON array of hex terms, so a quoted term matches only itself.
        match self.dialect {
            Dialect::Postgres => format!("strpos(terms, '\"' || {term} || '\"') > 0"),
            Dialect::Sqlite => format!("instr(terms, '\"' || {term} || '\"') > 0"),
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

    /// True of ticket `t` when `word` is in it: an index probe per source (PostgreSQL
    /// may hash a source's rows once instead, when it expects to test many tickets).
    fn word_test(&self, word: &Word, params: &mut Params) -> String {
        let vis = self.visibility;
        let mut any = vec![
            format!(
                "EXISTS (SELECT 1 FROM search_terms s WHERE s.term = {} AND s.ticket_id = t.id{vis})",
                params.next(word.term.clone())
            ),
            // Pending texts are few (the merge keeps up), but the table's planner
            // statistics rarely say so: read once per query, not probed per ticket.
            format!(
                "t.id IN (SELECT ticket_id FROM search_pending WHERE {}{vis})",
                self.pending_has(&params.next(word.term.clone()))
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

    /// The ids of the tickets `word` is in.
    fn word_set(&self, word: &Word, params: &mut Params) -> Vec<String> {
        let vis = self.visibility;
        let mut sets = vec![
            format!(
                "SELECT ticket_id FROM search_terms WHERE term = {}{vis}",
                params.next(word.term.clone())
            ),
            format!(
                "SELECT ticket_id FROM search_pending WHERE {}{vis}",
                self.pending_has(&params.next(word.term.clone()))
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

    /// How many tickets `word` is in, counted up to [`DRIVING_BELOW`] per source
    /// (pending texts are left out: the merge keeps them few).
    fn word_count(&self, word: &Word, params: &mut Params) -> String {
        let bounded = |set: String| format!("(SELECT COUNT(*) FROM ({set} LIMIT {DRIVING_BELOW}) c)");
        let vis = self.visibility;
        let mut counts = vec![
            bounded(format!(
                "SELECT 1 FROM search_terms WHERE term = {}{vis}",
                params.next(word.term.clone())
            )),
            bounded(format!(
                "SELECT 1 FROM tickets WHERE requester_id IN (SELECT user_id FROM people_terms WHERE term = {})",
                params.next(word.name_term.clone())
            )),
        ];
        if self.search.include_tags {
            counts.push(bounded(format!(
                "SELECT 1 FROM ticket_tags WHERE tag = {}",
                params.next(word.folded.clone())
            )));
        }
        if !self.search.word_fields.is_empty() {
            let fields = self.field_list(params);
            counts.push(bounded(format!(
                "SELECT 1 FROM ticket_field_values WHERE field_id IN ({fields}) AND value_fold = {}",
                params.next(word.folded.clone())
            )));
        }
        counts.join(" + ")
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
            visibility: if search.include_internal {
                ""
            } else {
                " AND visibility = 'public'"
            },
        };
        let rarest = self.rarest_word(&plan, &words).await?;

        let mut params = Params::default();
        let mut conditions = Vec::new();
        // Whole-query matches are few, so with no rare word they drive on their own.
        if rarest.is_some() || words.is_empty() {
            // Every match has the rare word or matches as a whole, so these ids hold
            // them all; the tests below still decide.
            let mut sets = rarest.map_or_else(Vec::new, |i| plan.word_set(&words[i], &mut params));
            sets.extend(wholes.iter().map(|w| Plan::whole_set(w, &mut params)));
            conditions.push(format!("t.id IN ({})", sets.join(" UNION ")));
        }
        let mut alternatives = Vec::new();
        if !words.is_empty() {
            let all: Vec<String> = words.iter().map(|w| plan.word_test(w, &mut params)).collect();
            alternatives.push(all.join(" AND "));
        }
        alternatives.extend(wholes.iter().map(|w| Plan::whole_test(w, &mut params)));
        conditions.push(format!("(({}))", alternatives.join(") OR (")));
        let (scope_where, scope_params) = scope_sql(scope, params.0.len());
        conditions.push(scope_where);
        let sql = format!(
            "{select} WHERE {} ORDER BY t.created_at DESC, t.id DESC LIMIT {limit}",
            conditions.join(" AND "),
            select = ticket_select(self.dialect),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for p in params.0.iter().chain(scope_params.iter()) {
            q = q.bind(p.as_str());
        }
        let rows = q.fetch_all(&self.read).await?;
        self.tickets_from_rows(&rows).await
    }

    /// The index of the word in the fewest tickets, if it is in fewer than
    /// [`DRIVING_BELOW`]; one statement, each count bounded.
    async fn rarest_word(&self, plan: &Plan<'_>, words: &[Word]) -> Result<Option<usize>, StoreError> {
        if words.is_empty() {
            return Ok(None);
        }
        let mut params = Params::default();
        let columns: Vec<String> = words.iter().map(|w| plan.word_count(w, &mut params)).collect();
        let sql = format!("SELECT {}", columns.join(", "));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for p in &params.0 {
            q = q.bind(p.as_str());
        }
        let row = q.fetch_one(&self.read).await?;
        let mut rarest: Option<(usize, i64)> = None;
        for i in 0..words.len() {
            let count: i64 = row.try_get(i)?;
            if count < DRIVING_BELOW && rarest.is_none_or(|(_, fewest)| count < fewest) {
                rarest = Some((i, count));
            }
        }
        Ok(rarest.map(|(i, _)| i))
    }
}
