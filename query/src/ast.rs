//! The typed syntax tree of filter strings and `order_by` clauses.
//!
//! The types follow MLflow's comparator matrix, so a tree that MLflow would
//! reject cannot be built: metrics only take numeric comparisons, params and
//! tags only string comparisons and `IS [NOT] NULL`, `IN` lists exist only
//! for `run_id` and dataset fields, and so on. Attribute aliases (`created`,
//! `` `run name` ``, …) are normalised away.
//!
//! `Display` prints the canonical text of a tree (see `docs/query-language.md`);
//! parsing that text gives the same tree back.

/// A boolean combination of conditions.
///
/// The MLflow dialect produces only `Cond` and `And` (of conditions); `Or`,
/// `Not` and nesting come from the runstore-only extended dialect.
/// Trees from the parser have at least two operands in every `And` and `Or`;
/// a parenthesised group stays a nested node (the parser does not flatten).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// One comparison.
    Cond(Condition),
    /// All operands hold.
    And(Vec<Expr>),
    /// At least one operand holds (extended dialect only).
    Or(Vec<Expr>),
    /// The operand does not hold (extended dialect only).
    Not(Box<Expr>),
}

/// One comparison, typed by what it compares.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `metrics.KEY OP NUMBER`, compared with the run's latest value of the metric.
    Metric {
        /// The metric key.
        key: String,
        /// The comparison.
        op: NumOp,
        /// The literal, as MLflow reads it (`float(text)`): finite or ±infinity, never NaN.
        value: f64,
    },
    /// `params.KEY …`.
    Param {
        /// The param key.
        key: String,
        /// The comparison.
        op: TextOp,
    },
    /// `tags.KEY …`.
    Tag {
        /// The tag key.
        key: String,
        /// The comparison.
        op: TextOp,
    },
    /// `attributes.start_time|end_time OP NUMBER` (`created` and `Created` are `start_time`).
    TimeAttr {
        /// Which time.
        attr: TimeAttribute,
        /// The comparison.
        op: NumOp,
        /// The literal.
        value: TimeValue,
    },
    /// `attributes.run_name|status|user_id|artifact_uri (= | != | LIKE | ILIKE) STRING`.
    TextAttr {
        /// Which attribute.
        attr: TextAttribute,
        /// The comparison.
        op: StrOp,
    },
    /// `attributes.run_id …`, the one attribute that also takes `IN` / `NOT IN`.
    RunId(SetOp),
    /// `datasets.name|digest|context …`: met when some dataset input of the run matches.
    Dataset {
        /// Which field of the dataset input.
        field: DatasetField,
        /// The comparison.
        op: SetOp,
    },
}

/// A numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A string comparison with its literal.
///
/// Literals are exactly the text between the quotes: MLflow never unescapes
/// them (`'it''s'` is the four characters `it''s`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StrOp {
    /// `= 'value'`
    Eq(String),
    /// `!= 'value'`
    Ne(String),
    /// `LIKE 'pattern'`: case-sensitive, `%` and `_` wildcards, no escape character.
    Like(String),
    /// `ILIKE 'pattern'`: like `Like` with ASCII letters folded.
    ILike(String),
}

/// What a param or tag can be compared with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TextOp {
    /// `= != LIKE ILIKE` with a string.
    Str(StrOp),
    /// `IS NULL`: the run lacks the key.
    IsNull,
    /// `IS NOT NULL`: the run has the key.
    IsNotNull,
}

/// What `run_id` and dataset fields can be compared with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SetOp {
    /// `= != LIKE ILIKE` with a string.
    Str(StrOp),
    /// `IN ('a', 'b')`: never empty.
    In(Vec<String>),
    /// `NOT IN ('a', 'b')`: never empty.
    NotIn(Vec<String>),
}

/// A numeric literal compared with a time attribute.
///
/// MLflow keeps integer literals as integers (so they compare exactly with the
/// millisecond column) and others as floats (`start_time > 1.5e12` is valid).
/// Integers must fit in an `i64`, as SQLite demands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeValue {
    /// A literal without a fraction or exponent, e.g. `1700000000000`.
    Int(i64),
    /// A literal with a fraction or exponent, e.g. `1.7e12` (may be ±infinity, never NaN).
    Float(f64),
}

/// A time attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeAttribute {
    /// `start_time` (aliases `created`, `Created`).
    StartTime,
    /// `end_time`.
    EndTime,
}

/// A string attribute other than `run_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextAttribute {
    /// `run_name` (aliases `` `run name` ``, `` `Run name` ``, `` `Run Name` `` in filters).
    RunName,
    /// `status`.
    Status,
    /// `user_id`.
    UserId,
    /// `artifact_uri`.
    ArtifactUri,
}

/// Any run attribute that can be searched or ordered on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// `run_id`.
    RunId,
    /// `run_name`.
    RunName,
    /// `status`.
    Status,
    /// `start_time` (aliases `created`, `Created`).
    StartTime,
    /// `end_time`.
    EndTime,
    /// `user_id`.
    UserId,
    /// `artifact_uri`.
    ArtifactUri,
}

impl Attribute {
    /// The canonical name, as printed after `attributes.`.
    pub fn name(self) -> &'static str {
        match self {
            Attribute::RunId => "run_id",
            Attribute::RunName => "run_name",
            Attribute::Status => "status",
            Attribute::StartTime => "start_time",
            Attribute::EndTime => "end_time",
            Attribute::UserId => "user_id",
            Attribute::ArtifactUri => "artifact_uri",
        }
    }
}

impl From<TimeAttribute> for Attribute {
    fn from(a: TimeAttribute) -> Self {
        match a {
            TimeAttribute::StartTime => Attribute::StartTime,
            TimeAttribute::EndTime => Attribute::EndTime,
        }
    }
}

impl From<TextAttribute> for Attribute {
    fn from(a: TextAttribute) -> Self {
        match a {
            TextAttribute::RunName => Attribute::RunName,
            TextAttribute::Status => Attribute::Status,
            TextAttribute::UserId => Attribute::UserId,
            TextAttribute::ArtifactUri => Attribute::ArtifactUri,
        }
    }
}

/// A field of a run's dataset inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetField {
    /// The dataset's name.
    Name,
    /// The dataset's digest.
    Digest,
    /// The input's context tag (`mlflow.data.context`, e.g. `training`).
    Context,
}

impl DatasetField {
    /// The name used after `datasets.`.
    pub fn name(self) -> &'static str {
        match self {
            DatasetField::Name => "name",
            DatasetField::Digest => "digest",
            DatasetField::Context => "context",
        }
    }
}

/// One `order_by` clause.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderBy {
    /// What to order on.
    pub key: OrderKey,
    /// `ASC` (the default) or `DESC`.
    pub ascending: bool,
}

/// What an `order_by` clause orders on. Two clauses with equal keys are an
/// error (`parse_order_by` reports it).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrderKey {
    /// A metric's latest value.
    Metric(String),
    /// A param's value (text order).
    Param(String),
    /// A tag's value (text order).
    Tag(String),
    /// A run attribute.
    Attr(Attribute),
}
