//! The reference queries Q1–Q10 (`shared/bench/QUERIES.md`): all experiments,
//! view `active`, `max_results` 1000 unless stated.
//!
//! ```
//! use runstore_bench::queries::reference_queries;
//!
//! let qs = reference_queries("0123456789abcdef0123456789abcdef");
//! assert_eq!(qs.len(), 10);
//! assert_eq!(qs[4].id, "Q5");
//! assert_eq!(qs[4].max_results, 100);
//! assert_eq!(qs[9].filter, "tags.mlflow.parentRunId = '0123456789abcdef0123456789abcdef'");
//! ```

use runstore::ViewType;
use runstore::search::SearchRequest;

/// One reference query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// `Q1` … `Q10`.
    pub id: &'static str,
    /// The query's shape, e.g. `metric >` (names criterion benches).
    pub shape: &'static str,
    /// Filter string (empty: none).
    pub filter: String,
    /// `order_by` clauses.
    pub order_by: Vec<String>,
    /// Page size.
    pub max_results: usize,
}

impl Query {
    /// The search request for the first page.
    pub fn request(&self) -> SearchRequest {
        SearchRequest {
            filter: self.filter.clone(),
            order_by: self.order_by.clone(),
            max_results: self.max_results,
            view: ViewType::ActiveOnly,
            ..SearchRequest::default()
        }
    }

    /// The arguments of `runstore search` that run this query (after
    /// `runstore --db DIR`), JSON output.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = vec!["search".to_owned()];
        if !self.filter.is_empty() {
            args.push("--filter".into());
            args.push(self.filter.clone());
        }
        for o in &self.order_by {
            args.push("--order-by".into());
            args.push(o.clone());
        }
        args.push("--max-results".into());
        args.push(self.max_results.to_string());
        args.push("--view".into());
        args.push("active".into());
        args.push("--format".into());
        args.push("json".into());
        args
    }

    /// A name fit for a criterion bench id, e.g. `Q1 metric >`.
    pub fn label(&self) -> String {
        format!("{} {}", self.id, self.shape)
    }
}

/// Q1–Q10, with `parent_run_id` (the parent with most children) in Q10.
pub fn reference_queries(parent_run_id: &str) -> Vec<Query> {
    let q = |id, shape, filter: &str, order_by: &[&str], max_results| Query {
        id,
        shape,
        filter: filter.to_owned(),
        order_by: order_by.iter().map(|s| (*s).to_owned()).collect(),
        max_results,
    };
    vec![
        q("Q1", "metric >", "metrics.m00 > 0.9", &[], 1000),
        q(
            "Q2",
            "param = AND metric <",
            "params.p02 = 'adam' AND metrics.m01 < 0.5",
            &[],
            1000,
        ),
        q("Q3", "tag LIKE", "tags.t00 LIKE 'team-1%'", &[], 1000),
        q("Q4", "status =", "attributes.status = 'FAILED'", &[], 1000),
        q(
            "Q5",
            "param = AND metric >=, order by metric",
            "params.p03 = 'rf' AND metrics.m00 >= 0.5",
            &["metrics.m00 DESC"],
            100,
        ),
        q("Q6", "tag ILIKE", "tags.t01 ILIKE '%V3%'", &[], 1000),
        q(
            "Q7",
            "no filter, order by start_time",
            "",
            &["attributes.start_time DESC"],
            1000,
        ),
        q(
            "Q8",
            "2 metrics AND param",
            "metrics.m05 > 0.5 AND metrics.m06 < 0.5 AND params.p00 = '0.01'",
            &[],
            1000,
        ),
        q(
            "Q9",
            "run_name LIKE",
            "attributes.run_name LIKE 'run-1%'",
            &[],
            1000,
        ),
        q(
            "Q10",
            "parent tag =",
            &format!("tags.mlflow.parentRunId = '{parent_run_id}'"),
            &[],
            1000,
        ),
    ]
}

/// Q1 with a page size, for paging through all its results.
pub fn paging_query(max_results: usize) -> Query {
    Query {
        id: "Q1",
        shape: "all pages",
        filter: "metrics.m00 > 0.9".into(),
        order_by: Vec::new(),
        max_results,
    }
}
