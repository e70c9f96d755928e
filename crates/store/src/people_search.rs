//! Finding people by the words of their name or their whole address, and tickets by
//! their requester, without a name in the clear: each word of a name, and the address
//! as one term, is kept as a keyed hash ([`palisade_crypto::SearchIndex`], a domain of
//! its own for each), rewritten when the name changes. Parts of an address are never
//! terms: whoever sees addresses masked could otherwise probe them piece by piece.

use std::collections::BTreeSet;

use palisade_core::{Role, UserId};
use palisade_crypto::search_terms;
use sqlx::{AssertSqlSafe, Row};

use crate::db::placeholders;
use crate::{Store, StoreError, Tx, UserKind, UserRecord};

const NAME_DOMAIN: &str = "people.name";
const ADDRESS_DOMAIN: &str = "people.address";
/// The most words a search of people uses; more only narrow what is already few.
const MAX_QUERY_WORDS: usize = 8;

impl Store {
    /// The keyed hash of one lower-case word of a person's name.
    pub(crate) fn name_term(&self, word: &str) -> String {
        self.keys.search_index().compute(NAME_DOMAIN, word)
    }

    /// The keyed hash of a whole address, as written in any case.
    pub(crate) fn address_term(&self, address: &str) -> String {
        self.keys
            .search_index()
            .compute(ADDRESS_DOMAIN, &address.trim().to_lowercase())
    }

    /// Writes the words of a person's name and address afresh (after the old ones go).
    pub(crate) async fn index_person(
        &self,
        tx: &mut Tx,
        id: &UserId,
        name: &str,
        email: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM people_terms WHERE user_id = $1")
            .bind(id.as_str())
            .execute(tx.conn())
            .await?;
        let terms: BTreeSet<String> = search_terms(name)
            .iter()
            .take(200)
            .map(|word| self.name_term(word))
            .chain(std::iter::once(self.address_term(email)))
            .collect();
        // At most 201 rows: one statement.
        let sql = format!(
            "INSERT INTO people_terms (term, user_id) VALUES {} ON CONFLICT DO NOTHING",
            crate::db::value_rows(terms.len(), 2)
        );
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(sql)).persistent(false);
        for term in &terms {
            insert = insert.bind(term).bind(id.as_str());
        }
        insert.execute(tx.conn()).await?;
        Ok(())
    }

    /// Indexes every account that has no words yet: those made before the index
    /// existed. Run at start; an account always has words (its address), so this
    /// finds nothing once done.
    pub(crate) async fn index_unindexed_people(&self) -> Result<usize, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM users WHERE merged_into IS NULL AND id NOT IN (SELECT user_id FROM people_terms)",
        )
        .fetch_all(&self.read)
        .await?;
        let ids = rows
            .iter()
            .map(|r| Ok(UserId::parse(&r.try_get::<String, _>(0)?)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        for chunk in ids.chunks(100) {
            let people = self.users_by_ids(chunk).await?;
            let mut tx = self.begin().await?;
            for person in &people {
                self.index_person(&mut tx, &person.id, &person.name, person.email.as_str())
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(ids.len())
    }

    /// People of `kind` whose name holds every word of `query` (whole words, any case)
    /// or, with `by_address`, whose address is `query` whole; oldest account first.
    pub async fn find_people(
        &self,
        kind: UserKind,
        query: &str,
        by_address: bool,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let terms: Vec<String> = if by_address && query.contains('@') {
            vec![self.address_term(query)]
        } else {
            search_terms(query)
                .iter()
                .take(MAX_QUERY_WORDS)
                .map(|w| self.name_term(w))
                .collect()
        };
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let role_filter = match kind {
            UserKind::Customers => format!("u.role = '{}'", Role::Customer.as_str()),
            UserKind::Staff => format!("u.role <> '{}'", Role::Customer.as_str()),
        };
        let sql = format!(
            "SELECT id FROM users u WHERE {role_filter} AND u.id IN (SELECT user_id FROM people_terms \
             WHERE term IN ({}) GROUP BY user_id HAVING COUNT(DISTINCT term) = {}) \
             ORDER BY u.created_at, u.id LIMIT {limit}",
            placeholders(0, terms.len()),
            terms.len(),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for term in &terms {
            q = q.bind(term.as_str());
        }
        let ids = q
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok(UserId::parse(&r.try_get::<String, _>(0)?)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut people = self.users_by_ids(&ids).await?;
        people.sort_by_key(|p| (p.created_at.0, p.id.to_string()));
        Ok(people)
    }
}
