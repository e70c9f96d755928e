//! The help centre's full-text index: tantivy, BM25, kept in memory only (so no article
//! text — internal ones included — is ever written to disk in clear) and rebuilt from
//! the database at start. One index per stemming language; a search runs in the index
//! of the requested locale's language and is filtered by locale and audience inside
//! the query, so counts and snippets never include an article the reader may not see.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::RwLock;

use palisade_core::{ArticleId, Audience, CompanyId};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, Bm25StatisticsProvider, BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term,
};

use super::statistics::VisibleStatistics;
use crate::AssistError;
use palisade_policy::AudienceFilter;

const TOKENIZER: &str = "article";
/// Words of a query that are used; the rest are ignored (a bound on the work a single
/// query can cause).
const MAX_QUERY_TERMS: usize = 16;
/// Memory a writer may use before it flushes a segment (tantivy's minimum is 15 MB).
const WRITER_MEMORY: usize = 15_000_000;
const SNIPPET_CHARS: usize = 180;
/// The company term of articles for customers not limited to any company.
const ALL_COMPANIES: &str = "*";

/// Lucene's English stop words plus the pronouns, question words and auxiliaries of
/// questions people type ("how many days do I have…"): without them, how much of a
/// question an article covers would be judged on words that carry no meaning.
const ENGLISH_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
    "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
    "was", "will", "with", "i", "me", "my", "mine", "we", "us", "our", "you", "your", "yours", "he", "she",
    "him", "her", "his", "its", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "do",
    "does", "did", "done", "can", "could", "would", "should", "shall", "may", "might", "must", "have", "has",
    "had", "am", "been", "being", "were", "get", "got", "please", "hi", "hello", "thanks", "thank", "many",
    "much", "some", "any", "so", "than", "too", "very", "just", "about", "here", "from", "up", "out", "all",
    "im", "dont", "cant", "ive", "want", "need", "tell", "know", "long", "take", "takes",
];

/// An article as the index holds it: its published text and who may read it.
#[derive(Clone, Debug)]
pub struct IndexedArticle {
    pub id: ArticleId,
    pub slug: String,
    pub locale: String,
    pub audience: Audience,
    pub companies: Vec<CompanyId>,
    pub title: String,
    pub text: String,
}

/// A search result: where it is, who it is for, and the passage that matched.
#[derive(Clone, Debug)]
pub struct SearchHit {
    pub article: IndexedArticle,
    pub score: f32,
    /// The share of the query's words (after stemming, without stop words) that the
    /// article's title or text contains: 1.0 when every word is there.
    pub coverage: f32,
    pub snippet: Snippet,
}

impl SearchHit {
    /// What the policies decide reading the hit's article on (it is published).
    pub fn facts(&self) -> palisade_policy::ArticleFacts {
        palisade_policy::ArticleFacts {
            id: self.article.id.clone(),
            audience: self.article.audience,
            companies: self.article.companies.clone(),
            published: true,
        }
    }
}

/// A stretch of the article's text with the matched words marked as byte ranges.
#[derive(Clone, Debug, Default)]
pub struct Snippet {
    pub text: String,
    pub highlights: Vec<Range<usize>>,
}

#[derive(Debug, Default)]
pub struct SearchResults {
    /// How many articles matched (only among those the reader may see).
    pub total: usize,
    pub hits: Vec<SearchHit>,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    slug: Field,
    locale: Field,
    audience: Field,
    company: Field,
    title: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let words = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        )
        .set_stored();
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        slug: builder.add_text_field("slug", STORED),
        locale: builder.add_text_field("locale", STRING | STORED),
        audience: builder.add_text_field("audience", STRING | STORED),
        company: builder.add_text_field("company", STRING | STORED),
        title: builder.add_text_field("title", words.clone()),
        text: builder.add_text_field("text", words),
    };
    (builder.build(), fields)
}

/// The stemming language for a locale; `None` for languages without a stemmer (their
/// words are matched as written, case-folded).
fn language(locale: &str) -> Option<(&'static str, Language)> {
    let lang = locale.split('-').next().unwrap_or_default();
    Some(match lang {
        "ar" => ("ar", Language::Arabic),
        "da" => ("da", Language::Danish),
        "nl" => ("nl", Language::Dutch),
        "en" => ("en", Language::English),
        "fi" => ("fi", Language::Finnish),
        "fr" => ("fr", Language::French),
        "de" => ("de", Language::German),
        "el" => ("el", Language::Greek),
        "hu" => ("hu", Language::Hungarian),
        "it" => ("it", Language::Italian),
        "no" | "nb" | "nn" => ("no", Language::Norwegian),
        "pt" => ("pt", Language::Portuguese),
        "ro" => ("ro", Language::Romanian),
        "ru" => ("ru", Language::Russian),
        "es" => ("es", Language::Spanish),
        "sv" => ("sv", Language::Swedish),
        "ta" => ("ta", Language::Tamil),
        "tr" => ("tr", Language::Turkish),
        _ => return None,
    })
}

fn index_key(locale: &str) -> &'static str {
    language(locale).map_or("plain", |(key, _)| key)
}

struct LanguageIndex {
    index: Index,
    reader: IndexReader,
    writer: IndexWriter,
}

impl LanguageIndex {
    fn new(key: &str) -> Result<Self, AssistError> {
        let (schema, _) = schema();
        let index = Index::create_in_ram(schema);
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .dynamic();
        if let Some((_, lang)) = language(key) {
            // Stop words neither score nor count towards how much of a question an
            // article covers.
            if lang == Language::English {
                analyzer = analyzer.filter_dynamic(StopWordFilter::remove(
                    ENGLISH_STOP_WORDS.iter().map(|w| (*w).to_owned()),
                ));
            } else if let Some(stop_words) = StopWordFilter::new(lang) {
                analyzer = analyzer.filter_dynamic(stop_words);
            }
            analyzer = analyzer.filter_dynamic(Stemmer::new(lang));
        }
        let analyzer = analyzer.build();
        index.tokenizers().register(TOKENIZER, analyzer);
        let writer = index
            .writer_with_num_threads(1, WRITER_MEMORY)
            .map_err(search_error)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(search_error)?;
        Ok(Self {
            index,
            reader,
            writer,
        })
    }
}

pub(super) fn search_error(e: impl std::fmt::Display) -> AssistError {
    AssistError::Search(e.to_string())
}

#[derive(Default)]
struct Inner {
    languages: HashMap<&'static str, LanguageIndex>,
    /// Which language index holds each article, so a change removes the old copy.
    placed: HashMap<ArticleId, &'static str>,
}

/// The in-memory index. Searches share a read lock; applying changes takes the write
/// lock for the few milliseconds a commit needs.
pub struct SearchIndex {
    fields: Fields,
    inner: RwLock<Inner>,
}

impl Default for SearchIndex {
    fn default() -> Self {
        Self {
            fields: schema().1,
            inner: RwLock::new(Inner::default()),
        }
    }
}

impl SearchIndex {
    /// Applies changes: each article is removed, then added again when it has
    /// published text (`Some`).
    pub fn apply(&self, changes: Vec<(ArticleId, Option<IndexedArticle>)>) -> Result<(), AssistError> {
        if changes.is_empty() {
            return Ok(());
        }
        let f = self.fields;
        let mut inner = self
            .inner
            .write()
            .map_err(|_| AssistError::Search("index lock poisoned".into()))?;
        let Inner { languages, placed } = &mut *inner;
        let mut touched = std::collections::HashSet::new();
        for (id, article) in changes {
            if let Some(key) = placed.remove(&id)
                && let Some(lang) = languages.get(key)
            {
                lang.writer.delete_term(Term::from_field_text(f.id, id.as_str()));
                touched.insert(key);
            }
            let Some(article) = article else { continue };
            let key = index_key(&article.locale);
            if !languages.contains_key(key) {
                languages.insert(key, LanguageIndex::new(key)?);
            }
            let lang = languages
                .get(key)
                .ok_or_else(|| AssistError::Search("language index missing".into()))?;
            let mut doc = TantivyDocument::default();
            doc.add_text(f.id, article.id.as_str());
            doc.add_text(f.slug, &article.slug);
            doc.add_text(f.locale, &article.locale);
            doc.add_text(f.audience, article.audience.as_str());
            if article.audience == Audience::Customers {
                if article.companies.is_empty() {
                    doc.add_text(f.company, ALL_COMPANIES);
                }
                for company in &article.companies {
                    doc.add_text(f.company, company.as_str());
                }
            }
            doc.add_text(f.title, &article.title);
            doc.add_text(f.text, &article.text);
            lang.writer.add_document(doc).map_err(search_error)?;
            placed.insert(id, key);
            touched.insert(key);
        }
        for key in touched {
            if let Some(lang) = languages.get_mut(key) {
                lang.writer.commit().map_err(search_error)?;
                lang.reader.reload().map_err(search_error)?;
            }
        }
        Ok(())
    }

    /// The audience clauses for `filter`, or `None` when the reader may see nothing.
    fn audience_query(&self, filter: &AudienceFilter) -> Option<Box<dyn Query>> {
        let f = self.fields;
        let term = |field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, value),
                IndexRecordOption::Basic,
            ))
        };
        let customers_of = |company: &str| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(vec![
                (Occur::Must, term(f.audience, Audience::Customers.as_str())),
                (Occur::Must, term(f.company, company)),
            ]))
        };
        let mut any_of: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if filter.public() {
            any_of.push((Occur::Should, term(f.audience, Audience::Public.as_str())));
        }
        if filter.internal() {
            any_of.push((Occur::Should, term(f.audience, Audience::Internal.as_str())));
        }
        if filter.customers_any() {
            any_of.push((Occur::Should, term(f.audience, Audience::Customers.as_str())));
        } else {
            if filter.customers_unrestricted() {
                any_of.push((Occur::Should, customers_of(ALL_COMPANIES)));
            }
            if let Some(company) = filter.company() {
                any_of.push((Occur::Should, customers_of(company.as_str())));
            }
        }
        if any_of.is_empty() {
            return None;
        }
        // Filters decide what matches, never how well: they add no score.
        Some(Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(any_of)),
            0.0,
        )))
    }

    /// The words of `text` as the index's analyzer produces them.
    fn query_words(&self, lang: &LanguageIndex, text: &str) -> Result<Vec<String>, AssistError> {
        analyzed_words(lang, self.fields.text, text, MAX_QUERY_TERMS)
    }

    /// Searches the published articles of `locale` that `filter` allows. With empty
    /// `text`, lists them all (up to `limit`) in title order.
    pub fn search(
        &self,
        locale: &str,
        filter: &AudienceFilter,
        text: &str,
        limit: usize,
    ) -> Result<SearchResults, AssistError> {
        let Some(audience) = self.audience_query(filter) else {
            return Ok(SearchResults::default());
        };
        let f = self.fields;
        let inner = self
            .inner
            .read()
            .map_err(|_| AssistError::Search("index lock poisoned".into()))?;
        let Some(lang) = inner.languages.get(index_key(locale)) else {
            return Ok(SearchResults::default());
        };
        let locale_clause: Box<dyn Query> = Box::new(TermQuery::new(
            Term::from_field_text(f.locale, locale),
            IndexRecordOption::Basic,
        ));
        let words = self.query_words(lang, text)?;
        let browsing = text.trim().is_empty();
        if words.is_empty() && !browsing {
            return Ok(SearchResults::default());
        }
        let matching: Box<dyn Query> = if browsing {
            Box::new(AllQuery)
        } else {
            let mut any_word: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for word in &words {
                let in_title = Term::from_field_text(f.title, word);
                let in_text = Term::from_field_text(f.text, word);
                any_word.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(in_title, IndexRecordOption::WithFreqs)),
                        2.0,
                    )),
                ));
                any_word.push((
                    Occur::Should,
                    Box::new(TermQuery::new(in_text, IndexRecordOption::WithFreqs)),
                ));
            }
            Box::new(BooleanQuery::new(any_word))
        };
        let visible: Box<dyn Query> = Box::new(BooleanQuery::new(vec![
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(locale_clause, 0.0)) as Box<dyn Query>,
            ),
            (Occur::Must, audience),
        ]));
        let query = BooleanQuery::new(vec![(Occur::Must, matching), (Occur::Must, visible.box_clone())]);
        let searcher = lang.reader.searcher();
        // Scores (and snippets) come from the statistics of what this reader may read
        // only: with the whole index's, the order of visible hits would tell whether
        // hidden articles use a word.
        let statistics = VisibleStatistics::gather(&searcher, visible, &[f.title, f.text])?;
        let (top, total) = searcher
            .search_with_statistics_provider(
                &query,
                &(TopDocs::with_limit(limit.max(1)).order_by_score(), Count),
                &statistics,
            )
            .map_err(search_error)?;
        let snippets = if browsing {
            None
        } else {
            let mut terms = std::collections::BTreeMap::new();
            for word in &words {
                let df = statistics
                    .doc_freq(&Term::from_field_text(f.text, word))
                    .map_err(search_error)?;
                if df > 0 {
                    terms.insert(word.clone(), 1.0 / (1.0 + df as f32));
                }
            }
            let tokenizer = lang.index.tokenizer_for_field(f.text).map_err(search_error)?;
            let mut generator = SnippetGenerator::new(terms, tokenizer, f.text, SNIPPET_CHARS);
            generator.set_max_num_chars(SNIPPET_CHARS);
            Some(generator)
        };
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(search_error)?;
            let snippet = match &snippets {
                Some(generator) => {
                    let s = generator.snippet_from_doc(&doc);
                    Snippet {
                        text: s.fragment().to_owned(),
                        highlights: s.highlighted().to_vec(),
                    }
                }
                None => Snippet::default(),
            };
            let article = self.stored(&doc)?;
            let coverage = if words.is_empty() {
                0.0
            } else {
                let mut present = 0usize;
                for word in &words {
                    if indexed_in(&searcher, address, f.title, word)?
                        || indexed_in(&searcher, address, f.text, word)?
                    {
                        present += 1;
                    }
                }
                present as f32 / words.len() as f32
            };
            hits.push(SearchHit {
                article,
                score,
                coverage,
                snippet,
            });
        }
        if browsing {
            hits.sort_by(|a, b| {
                a.article
                    .title
                    .to_lowercase()
                    .cmp(&b.article.title.to_lowercase())
            });
        }
        Ok(SearchResults { total, hits })
    }

    fn stored(&self, doc: &TantivyDocument) -> Result<IndexedArticle, AssistError> {
        let f = self.fields;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let corrupt = |what: &str| AssistError::Search(format!("stored {what} is invalid"));
        Ok(IndexedArticle {
            id: ArticleId::parse(&text(f.id)).map_err(|_| corrupt("id"))?,
            slug: text(f.slug),
            locale: text(f.locale),
            audience: Audience::parse(&text(f.audience)).map_err(|_| corrupt("audience"))?,
            companies: doc
                .get_all(f.company)
                .filter_map(|v| v.as_str())
                .filter(|c| *c != ALL_COMPANIES)
                .map(|c| CompanyId::parse(c).map_err(|_| corrupt("company")))
                .collect::<Result<_, _>>()?,
            title: text(f.title),
            text: text(f.text),
        })
    }

    /// How many articles the index holds, for start-up logs and tests.
    pub fn len(&self) -> usize {
        self.inner.read().map(|i| i.placed.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The distinct words of `text` as the field's analyzer produces them, at most `limit`.
fn analyzed_words(
    lang: &LanguageIndex,
    field: Field,
    text: &str,
    limit: usize,
) -> Result<Vec<String>, AssistError> {
    let mut analyzer = lang.index.tokenizer_for_field(field).map_err(search_error)?;
    let mut stream = analyzer.token_stream(text);
    let mut words: Vec<String> = Vec::new();
    while stream.advance() && words.len() < limit {
        let word = &stream.token().text;
        if !words.contains(word) {
            words.push(word.clone());
        }
    }
    Ok(words)
}

/// Whether the article at `address` has `word` (as the analyzer made it) in `field`,
/// read from the index's postings: the same answer as analysing its stored text again,
/// which was most of the time of a search with several hits.
fn indexed_in(
    searcher: &Searcher,
    address: DocAddress,
    field: Field,
    word: &str,
) -> Result<bool, AssistError> {
    let postings = searcher
        .segment_reader(address.segment_ord)
        .inverted_index(field)
        .map_err(search_error)?
        .read_postings(&Term::from_field_text(field, word), IndexRecordOption::Basic)
        .map_err(search_error)?;
    // `seek` only moves forward: a list that starts past the article lacks it.
    Ok(postings
        .is_some_and(|mut docs| docs.doc() <= address.doc_id && docs.seek(address.doc_id) == address.doc_id))
}
