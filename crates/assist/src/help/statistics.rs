//! BM25 statistics over the documents one reader may see, so that nothing outside that
//! set moves the scores: with the whole index's statistics, the order of visible hits
//! would tell whether hidden articles use a word.

use tantivy::collector::{Collector, Count, SegmentCollector};
use tantivy::fieldnorm::FieldNormReader;
use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader, Term};

use super::index::search_error;
use crate::AssistError;

/// The statistics of a locale and the audiences Cedar grants one reader.
pub(super) struct VisibleStatistics<'a> {
    searcher: &'a Searcher,
    visible: Box<dyn Query>,
    docs: u64,
    fields: Vec<Field>,
    tokens: Vec<u64>,
}

impl<'a> VisibleStatistics<'a> {
    pub(super) fn gather(
        searcher: &'a Searcher,
        visible: Box<dyn Query>,
        fields: &[Field],
    ) -> Result<Self, AssistError> {
        let (docs, tokens) = searcher
            .search(
                &visible,
                &VisibleTotals {
                    fields: fields.to_vec(),
                },
            )
            .map_err(search_error)?;
        Ok(Self {
            searcher,
            visible,
            docs,
            fields: fields.to_vec(),
            tokens,
        })
    }
}

impl Bm25StatisticsProvider for VisibleStatistics<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        Ok(self
            .fields
            .iter()
            .position(|f| *f == field)
            .map_or(0, |i| self.tokens[i]))
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.docs)
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let with_term = BooleanQuery::new(vec![
            (Occur::Must, self.visible.box_clone()),
            (
                Occur::Must,
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic)),
            ),
        ]);
        self.searcher.search(&with_term, &Count).map(|n| n as u64)
    }
}

/// Counts the visible documents and sums their field lengths as the query walks them,
/// with each segment's field-norm readers opened once: collecting the addresses first
/// and opening a reader per document was a fifth of a search's time.
struct VisibleTotals {
    fields: Vec<Field>,
}

struct SegmentTotals {
    norms: Vec<FieldNormReader>,
    docs: u64,
    tokens: Vec<u64>,
}

impl Collector for VisibleTotals {
    type Fruit = (u64, Vec<u64>);
    type Child = SegmentTotals;

    fn for_segment(
        &self,
        _segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentTotals> {
        Ok(SegmentTotals {
            norms: self
                .fields
                .iter()
                .map(|field| reader.get_fieldnorms_reader(*field))
                .collect::<tantivy::Result<_>>()?,
            docs: 0,
            tokens: vec![0; self.fields.len()],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<(u64, Vec<u64>)>) -> tantivy::Result<(u64, Vec<u64>)> {
        let mut tokens = vec![0; self.fields.len()];
        let mut docs = 0;
        for (segment_docs, segment_tokens) in segments {
            docs += segment_docs;
            for (total, part) in tokens.iter_mut().zip(segment_tokens) {
                *total += part;
            }
        }
        Ok((docs, tokens))
    }
}

impl SegmentCollector for SegmentTotals {
    type Fruit = (u64, Vec<u64>);

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.docs += 1;
        for (total, norms) in self.tokens.iter_mut().zip(&self.norms) {
            *total += u64::from(norms.fieldnorm(doc));
        }
    }

    fn harvest(self) -> Self::Fruit {
        (self.docs, self.tokens)
    }
}
