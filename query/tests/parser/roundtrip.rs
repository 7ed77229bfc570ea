//! Property tests: printing a tree and parsing the text gives the tree back;
//! no input makes the parsers panic, and whatever parses round-trips.

use proptest::prelude::*;
use runstore_query::{
    Attribute, Condition, DatasetField, Dialect, Expr, NumOp, OrderBy, OrderKey, SetOp, StrOp,
    TextAttribute, TextOp, TimeAttribute, TimeValue, parse_filter, parse_order_by,
    parse_order_by_clause,
};

/// Keys without backticks: always expressible in filters (in backticks if not bare).
fn filter_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}(\\.[a-z_][a-z0-9_]{0,4}){0,2}",
        Just("from".to_owned()),
        Just("in.x".to_owned()),
        Just("名前".to_owned()),
        Just("".to_owned()),
        "[^`]{0,8}",
    ]
}

/// Keys expressible in order_by: no `"`, backtick or backslash, no trailing whitespace.
fn order_key_text() -> impl Strategy<Value = String> {
    prop_oneof!["[a-zA-Z_][a-zA-Z0-9_.]{0,8}", "[^`\"\\\\]{0,8}"]
        .prop_filter("trailing whitespace", |k| {
            !k.ends_with(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
        })
}

/// Values expressible in single quotes (no `'`) or in double quotes (no `"`); no backslash.
fn text_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[^'\\\\]{0,10}",
        "[^\"\\\\]{0,10}",
        "[a-z%_ ]{0,6}",
        Just("it''s".to_owned())
    ]
}

fn list_item() -> impl Strategy<Value = String> {
    prop_oneof!["[^'\"\\\\\n\r\u{0}]{0,6}", "[a-z']{0,4}", "[a-z\"]{0,4}"]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        prop::num::f64::ANY.prop_filter("NaN has no literal", |x| !x.is_nan()),
        Just(0.5),
        Just(-0.0),
        Just(1.7976931348623157e308),
        Just(f64::INFINITY),
        (-2000i32..2000).prop_map(|n| f64::from(n) / 4.0),
    ]
}

fn num_op() -> impl Strategy<Value = NumOp> {
    prop_oneof![
        Just(NumOp::Eq),
        Just(NumOp::Ne),
        Just(NumOp::Lt),
        Just(NumOp::Le),
        Just(NumOp::Gt),
        Just(NumOp::Ge)
    ]
}

fn str_op() -> impl Strategy<Value = StrOp> {
    (0..4u8, text_value()).prop_map(|(n, v)| match n {
        0 => StrOp::Eq(v),
        1 => StrOp::Ne(v),
        2 => StrOp::Like(v),
        _ => StrOp::ILike(v),
    })
}

fn text_op() -> impl Strategy<Value = TextOp> {
    prop_oneof![4 => str_op().prop_map(TextOp::Str), 1 => Just(TextOp::IsNull), 1 => Just(TextOp::IsNotNull)]
}

fn set_op() -> impl Strategy<Value = SetOp> {
    prop_oneof![
        2 => str_op().prop_map(SetOp::Str),
        1 => prop::collection::vec(list_item(), 1..4).prop_map(SetOp::In),
        1 => prop::collection::vec(list_item(), 1..4).prop_map(SetOp::NotIn),
    ]
}

fn condition() -> impl Strategy<Value = Condition> {
    let time_attr = prop_oneof![Just(TimeAttribute::StartTime), Just(TimeAttribute::EndTime)];
    let text_attr = prop_oneof![
        Just(TextAttribute::RunName),
        Just(TextAttribute::Status),
        Just(TextAttribute::UserId),
        Just(TextAttribute::ArtifactUri)
    ];
    let field = prop_oneof![
        Just(DatasetField::Name),
        Just(DatasetField::Digest),
        Just(DatasetField::Context)
    ];
    let time_value = prop_oneof![
        any::<i64>().prop_map(TimeValue::Int),
        number().prop_map(TimeValue::Float)
    ];
    prop_oneof![
        (filter_key(), num_op(), number()).prop_map(|(key, op, value)| Condition::Metric {
            key,
            op,
            value
        }),
        (filter_key(), text_op()).prop_map(|(key, op)| Condition::Param { key, op }),
        (filter_key(), text_op()).prop_map(|(key, op)| Condition::Tag { key, op }),
        (time_attr, num_op(), time_value).prop_map(|(attr, op, value)| Condition::TimeAttr {
            attr,
            op,
            value
        }),
        (text_attr, str_op()).prop_map(|(attr, op)| Condition::TextAttr { attr, op }),
        set_op().prop_map(Condition::RunId),
        (field, set_op()).prop_map(|(field, op)| Condition::Dataset { field, op }),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    condition()
        .prop_map(Expr::Cond)
        .prop_recursive(6, 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..5).prop_map(Expr::And),
                prop::collection::vec(inner.clone(), 2..5).prop_map(Expr::Or),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
}

fn order_by() -> impl Strategy<Value = OrderBy> {
    let attr = prop_oneof![
        Just(Attribute::RunId),
        Just(Attribute::RunName),
        Just(Attribute::Status),
        Just(Attribute::StartTime),
        Just(Attribute::EndTime),
        Just(Attribute::UserId),
        Just(Attribute::ArtifactUri)
    ];
    let key = prop_oneof![
        order_key_text().prop_map(OrderKey::Metric),
        order_key_text().prop_map(OrderKey::Param),
        order_key_text().prop_map(OrderKey::Tag),
        attr.prop_map(OrderKey::Attr),
    ];
    (key, any::<bool>()).prop_map(|(key, ascending)| OrderBy { key, ascending })
}

/// Text shaped like filters: the grammar's pieces, glued at random.
fn filterish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("metrics."),
        Just("params."),
        Just("tags."),
        Just("attributes."),
        Just("datasets."),
        Just("acc"),
        Just("run_id"),
        Just("start_time"),
        Just("name"),
        Just("`a b`"),
        Just("\"k\""),
        Just(" = "),
        Just(" != "),
        Just(" > "),
        Just("<="),
        Just(" LIKE "),
        Just(" IN "),
        Just(" NOT "),
        Just(" IS NULL"),
        Just(" IS NOT NULL"),
        Just(" AND "),
        Just(" OR "),
        Just("("),
        Just(")"),
        Just("'x'"),
        Just("'"),
        Just("\""),
        Just("`"),
        Just("\\"),
        Just("''"),
        Just("0.5"),
        Just("-1e3"),
        Just(".5"),
        Just("('a', 'b')"),
        Just(","),
        Just("名"),
        Just("\u{a0}"),
        Just("\n"),
        Just(" "),
    ];
    prop::collection::vec(piece, 0..14).prop_map(|p| p.concat())
}

fn roundtrips(input: &str) -> Result<(), TestCaseError> {
    for dialect in [Dialect::Mlflow, Dialect::Extended] {
        if let Ok(Some(tree)) = parse_filter(input, dialect) {
            let text = tree.to_string();
            prop_assert_eq!(
                parse_filter(&text, dialect),
                Ok(Some(tree)),
                "{:?} printed as {:?}",
                input,
                text
            );
        }
    }
    if let Ok(clause) = parse_order_by_clause(input) {
        prop_assert_eq!(parse_order_by_clause(&clause.to_string()), Ok(clause));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn extended_trees_round_trip(tree in expr()) {
        let text = tree.to_string();
        prop_assert_eq!(parse_filter(&text, Dialect::Extended), Ok(Some(tree)), "{}", text);
    }

    #[test]
    fn mlflow_conjunctions_round_trip(conds in prop::collection::vec(condition(), 1..6)) {
        let tree = if conds.len() == 1 {
            Expr::Cond(conds.into_iter().next().expect("one"))
        } else {
            Expr::And(conds.into_iter().map(Expr::Cond).collect())
        };
        let text = tree.to_string();
        prop_assert_eq!(parse_filter(&text, Dialect::Mlflow), Ok(Some(tree)), "{}", text);
    }

    #[test]
    fn order_by_round_trips(clauses in prop::collection::vec(order_by(), 1..5)) {
        let texts: Vec<String> = clauses.iter().map(ToString::to_string).collect();
        for (clause, text) in clauses.iter().zip(&texts) {
            prop_assert_eq!(&parse_order_by_clause(text), &Ok(clause.clone()), "{}", text);
        }
        let distinct = clauses.iter().enumerate().all(|(i, c)| clauses[..i].iter().all(|d| d.key != c.key));
        prop_assert_eq!(parse_order_by(&texts).is_ok(), distinct);
    }

    #[test]
    fn arbitrary_text_never_panics(input in any::<String>()) {
        roundtrips(&input)?;
    }

    #[test]
    fn filter_shaped_text_never_panics(input in filterish()) {
        roundtrips(&input)?;
    }
}
