//! The grammar's behaviour, case by case: trees, messages and positions.

use runstore_query::{
    Attribute, Condition, DatasetField, Dialect, Expr, MAX_DEPTH, NumOp, OrderBy, OrderKey,
    ParseError, SetOp, StrOp, TextAttribute, TextOp, TimeAttribute, TimeValue, parse_filter,
    parse_order_by, parse_order_by_clause,
};

fn one(filter: &str) -> Condition {
    match parse_filter(filter, Dialect::Mlflow) {
        Ok(Some(Expr::Cond(c))) => c,
        other => panic!("{filter:?} gave {other:?}"),
    }
}

fn err(filter: &str) -> ParseError {
    parse_filter(filter, Dialect::Mlflow).expect_err(filter)
}

fn ext(filter: &str) -> Expr {
    parse_filter(filter, Dialect::Extended)
        .expect(filter)
        .expect(filter)
}

fn metric(key: &str, op: NumOp, value: f64) -> Expr {
    Expr::Cond(Condition::Metric {
        key: key.into(),
        op,
        value,
    })
}

#[test]
fn identifiers_aliases_and_keys() {
    assert_eq!(
        one("tags.mlflow.runName = 'x'"),
        Condition::Tag {
            key: "mlflow.runName".into(),
            op: TextOp::Str(StrOp::Eq("x".into()))
        }
    );
    for prefix in ["param", "params", "parameter", "parameters", "`params`"] {
        assert_eq!(
            one(&format!("{prefix}.lr IS NULL")),
            Condition::Param {
                key: "lr".into(),
                op: TextOp::IsNull
            }
        );
    }
    for key in ["`a b`", "\"a b\"", "'a b'"] {
        assert_eq!(
            one(&format!("metrics.{key} >= 2")),
            Condition::Metric {
                key: "a b".into(),
                op: NumOp::Ge,
                value: 2.0
            }
        );
    }
    assert_eq!(
        one("params.名前 != 'x'"),
        Condition::Param {
            key: "名前".into(),
            op: TextOp::Str(StrOp::Ne("x".into()))
        }
    );
    assert_eq!(
        one("metrics.`from` < 1"),
        Condition::Metric {
            key: "from".into(),
            op: NumOp::Lt,
            value: 1.0
        }
    );
    for alias in [
        "run_name",
        "`run name`",
        "`Run name`",
        "\"Run Name\"",
        "attributes.run_name",
        "run.`run name`",
    ] {
        assert_eq!(
            one(&format!("{alias} LIKE 'a%'")),
            Condition::TextAttr {
                attr: TextAttribute::RunName,
                op: StrOp::Like("a%".into())
            },
            "{alias}"
        );
    }
    for alias in ["start_time", "created", "Created", "attr.start_time"] {
        assert_eq!(
            one(&format!("{alias} > 5")),
            Condition::TimeAttr {
                attr: TimeAttribute::StartTime,
                op: NumOp::Gt,
                value: TimeValue::Int(5)
            }
        );
    }
}

#[test]
fn literals_are_raw_and_numbers_typed() {
    let eq = |v: &str| Condition::Param {
        key: "a".into(),
        op: TextOp::Str(StrOp::Eq(v.into())),
    };
    assert_eq!(one("params.a = 'it''s'"), eq("it''s"));
    assert_eq!(one("params.a = 'it\\'s'"), eq("it\\'s"));
    assert_eq!(one("params.a = \"it's\""), eq("it's"));
    assert_eq!(one("params.a = ''"), eq(""));
    for (text, value) in [
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("-0.5", -0.5),
        ("1E-3", 0.001),
        ("1e400", f64::INFINITY),
    ] {
        assert_eq!(
            one(&format!("metrics.m = {text}")),
            Condition::Metric {
                key: "m".into(),
                op: NumOp::Eq,
                value
            }
        );
    }
    assert_eq!(
        one("attributes.end_time <= 1.5e12"),
        Condition::TimeAttr {
            attr: TimeAttribute::EndTime,
            op: NumOp::Le,
            value: TimeValue::Float(1.5e12)
        }
    );
    for bad in ["+1", "- 0.5", "0x10", "1_000", "NaN", "inf", "1e+3", "'1'"] {
        assert!(
            parse_filter(&format!("metrics.m > {bad}"), Dialect::Mlflow).is_err(),
            "{bad}"
        );
    }
    assert!(parse_filter("start_time > 9223372036854775808", Dialect::Mlflow).is_err());
    assert!(parse_filter("start_time = '123'", Dialect::Mlflow).is_err());
}

#[test]
fn comparator_matrix() {
    assert_eq!(
        one("attributes.run_id NOT IN ('a', \"b\",)"),
        Condition::RunId(SetOp::NotIn(vec!["a".into(), "b".into()]))
    );
    assert_eq!(
        one("datasets.context in ('train')"),
        Condition::Dataset {
            field: DatasetField::Context,
            op: SetOp::In(vec!["train".into()])
        }
    );
    assert_eq!(
        one("tags.t is not null"),
        Condition::Tag {
            key: "t".into(),
            op: TextOp::IsNotNull
        }
    );
    for bad in [
        "metrics.a LIKE 'x'",
        "metrics.a IS NULL",
        "params.a > '1'",
        "params.a IN ('1')",
        "tags.a = 1",
        "attributes.status IN ('x')",
        "attributes.status IS NULL",
        "attributes.start_time LIKE '1'",
        "datasets.name > 'x'",
        "datasets.source = 'x'",
        "attributes.lifecycle_stage = 'active'",
        "attributes.experiment_id = '0'",
        "params.a NOT LIKE 'x'",
        "params.a IS NOT  NULL",
        "metrics.a == 1",
        "metrics.a <> 1",
        "attributes.run_id IN ()",
        "params.a = `x`",
    ] {
        assert!(parse_filter(bad, Dialect::Mlflow).is_err(), "{bad}");
    }
}

#[test]
fn errors_name_reason_and_character_position() {
    assert_eq!(
        err("metrics.acc > 'x'").to_string(),
        "invalid filter: expected a number after '>', found a quoted string at character 15"
    );
    // Positions count characters, not bytes.
    let e = err("params.名前 > 'x'");
    assert_eq!(e.offset(), 10);
    assert!(e.to_string().ends_with("at character 11"), "{e}");
    assert!(
        err("attributes.nosuch = 'a'")
            .to_string()
            .contains("unknown attribute 'nosuch'")
    );
    assert_eq!(err("metrics.a > 1 metrics.b > 2").offset(), 14);
    assert!(
        err("metrics.a > 1 AND")
            .to_string()
            .contains("trailing AND")
    );
    assert_eq!(err("AND metrics.a > 1").offset(), 0);
    assert_eq!(err("metrics.a > 1 AND AND metrics.b > 1").offset(), 18);
    let e = err("metrics.a > 1 OR metrics.b > 1");
    assert!(e.to_string().contains("runstore extension"), "{e}");
    assert!(!err("params.a = 'x\ny").to_string().contains('\n'));
    assert!(err(" ").to_string().contains("only whitespace"));
}

#[test]
fn extended_dialect_precedence_and_nesting() {
    let (a, b, c) = (
        metric("a", NumOp::Gt, 1.0),
        metric("b", NumOp::Gt, 1.0),
        metric("c", NumOp::Gt, 1.0),
    );
    assert_eq!(
        ext("metrics.a > 1 OR metrics.b > 1 AND metrics.c > 1"),
        Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])])
    );
    assert_eq!(
        ext("NOT metrics.a > 1 AND metrics.b > 1"),
        Expr::And(vec![Expr::Not(Box::new(a.clone())), b.clone()])
    );
    assert_eq!(
        ext("not (metrics.a > 1 or metrics.b > 1)and metrics.c > 1"),
        Expr::And(vec![
            Expr::Not(Box::new(Expr::Or(vec![a.clone(), b.clone()]))),
            c.clone()
        ])
    );
    assert_eq!(ext("((metrics.a > 1))"), a);
    let deep = |n: usize| format!("{}metrics.a > 1{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(ext(&deep(MAX_DEPTH)), a);
    let e = parse_filter(&deep(MAX_DEPTH + 1), Dialect::Extended).expect_err("too deep");
    assert!(e.to_string().contains("nesting deeper than 64"), "{e}");
    assert!(parse_filter(&"NOT ".repeat(100_000), Dialect::Extended).is_err());
    assert!(parse_filter(&"(".repeat(100_000), Dialect::Extended).is_err());
    for bad in [
        "(metrics.a > 1",
        "metrics.a > 1)",
        "()",
        "NOT",
        "metrics.a > 1 OR",
        "OR metrics.a > 1",
    ] {
        assert!(parse_filter(bad, Dialect::Extended).is_err(), "{bad}");
    }
    // Long flat conjunctions are not nesting.
    let long = vec!["metrics.a > 1"; 5_000].join(" AND ");
    assert!(
        matches!(parse_filter(&long, Dialect::Mlflow), Ok(Some(Expr::And(v))) if v.len() == 5_000)
    );
}

#[test]
fn order_by_clauses() {
    assert_eq!(
        parse_order_by_clause("metrics.f1 DESC"),
        Ok(OrderBy {
            key: OrderKey::Metric("f1".into()),
            ascending: false
        })
    );
    assert_eq!(
        parse_order_by_clause("params.`batch size`\tasc"),
        Ok(OrderBy {
            key: OrderKey::Param("batch size".into()),
            ascending: true
        })
    );
    assert_eq!(
        parse_order_by_clause("created"),
        Ok(OrderBy {
            key: OrderKey::Attr(Attribute::StartTime),
            ascending: true
        })
    );
    for bad in [
        "metrics.a DOWN",
        "metrics.a DESC DESC",
        "metrics.a NULLS LAST",
        "metrics.a, metrics.b",
        " metrics.a",
        "metrics.a ",
        "datasets.name",
        "nosuch.a",
        "attributes.`run name`",
        "attributes.lifecycle_stage",
        "metrics.a\u{a0}DESC",
        "",
    ] {
        assert!(parse_order_by_clause(bad).is_err(), "{bad:?}");
    }
    let e = parse_order_by(&["metrics.acc", "metric.acc DESC"]).expect_err("duplicate");
    assert_eq!(e.clause_index(), Some(1));
    assert!(
        e.to_string().contains("already ordered on by clause 1"),
        "{e}"
    );
    assert!(parse_order_by(&["start_time", "attributes.Created"]).is_err());
    assert!(parse_order_by(&["params.a", "tags.a"]).is_ok());
    let e = parse_order_by(&["metrics.a", "metrics.b DOWN"]).expect_err("bad direction");
    assert_eq!(
        e.to_string(),
        "invalid order_by clause 2 \"metrics.b DOWN\": expected ASC or DESC after the key, found 'DOWN' at character 11"
    );
}

#[test]
fn canonical_text() {
    let tree = ext(
        "param.`a` like 'x%' and (run.status = \"it's\" OR created >= 1.0) and not metrics.`in` > .5",
    );
    assert_eq!(
        tree.to_string(),
        "params.a LIKE 'x%' AND (attributes.status = \"it's\" OR attributes.start_time >= 1.0) AND NOT metrics.`in` > 0.5"
    );
    assert_eq!(
        parse_filter(&tree.to_string(), Dialect::Extended),
        Ok(Some(tree))
    );
    assert_eq!(one("metrics.m > 1e400").to_string(), "metrics.m > 1e999");
    assert_eq!(
        parse_order_by_clause("metrics.`a b`").map(|o| o.to_string()),
        Ok("metrics.`a b` ASC".to_owned())
    );
}

#[test]
fn mlflow_readings_of_odd_keys_and_strings() {
    let key_of = |filter: &str| match one(filter) {
        Condition::Metric { key, .. } => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(key_of("metrics.1abc > 0"), "1abc");
    assert_eq!(key_of("metrics.acc.`x` > 0"), "acc.`x`");
    assert_eq!(key_of("metrics.[acc] > 0.5"), "[acc]");
    assert_eq!(key_of("metrics.* > 1"), "*");
    assert_eq!(key_of("metrics.a.* > 1"), "a.*");
    assert_eq!(key_of("metrics.`a`.`b` > 1"), "a`.`b");
    for bad in [
        "metrics.12a > 0",
        "metrics.1 > 0",
        "metrics.*.a > 1",
        "metrics.a`b` > 1",
        "parameter.1a = 'x'",
    ] {
        assert!(parse_filter(bad, Dialect::Mlflow).is_err(), "{bad}");
    }
    // A string closed only by the end of the input: MLflow's sqlparse backtracks.
    let tree = parse_filter("tags.note = 'back\\' AND params.p = \"x\"", Dialect::Mlflow)
        .expect("valid")
        .expect("a filter");
    let Expr::And(parts) = &tree else {
        panic!("{tree:?}")
    };
    assert_eq!(
        parts[0],
        Expr::Cond(Condition::Tag {
            key: "note".into(),
            op: TextOp::Str(StrOp::Eq("back\\".into()))
        })
    );
    // It prints so that no later ' can re-close it, and reads back.
    let text = tree.to_string();
    assert_eq!(text, "tags.note = 'back\\' AND params.p = \"x\"");
    assert_eq!(parse_filter(&text, Dialect::Mlflow), Ok(Some(tree)));
    assert!(parse_filter("tags.note = 'back\\' AND params.p = 'x'", Dialect::Mlflow).is_err());
}

#[test]
fn strings_closed_at_the_end_print_in_the_quote_the_rest_allows() {
    // Found by the fuzzer: the first value reads back only as "…\" (a later '' needs ').
    let input = "tags.a = \"x \\\"AND tags.b = 'it''s' AND tags.c = 'y'";
    let tree = parse_filter(input, Dialect::Mlflow)
        .expect("valid")
        .expect("a filter");
    let text = tree.to_string();
    assert_eq!(
        text,
        "tags.a = \"x \\\" AND tags.b = 'it''s' AND tags.c = 'y'"
    );
    assert_eq!(parse_filter(&text, Dialect::Mlflow), Ok(Some(tree)));
}

#[test]
fn keys_in_backticks_print_double_quoted() {
    // Found by the fuzzer: '…' around 99 backticks is the key of 97 backticks.
    let input = format!("metric.'{}' > 2", "`".repeat(99));
    let tree = parse_filter(&input, Dialect::Mlflow)
        .expect("valid")
        .expect("a filter");
    assert_eq!(
        tree,
        Expr::Cond(Condition::Metric {
            key: "`".repeat(97),
            op: NumOp::Gt,
            value: 2.0
        })
    );
    let text = tree.to_string();
    assert_eq!(
        parse_filter(&text, Dialect::Mlflow),
        Ok(Some(tree)),
        "{text}"
    );
    for key in ["`a`", "``", "`", "a`b", "'`x`'"] {
        let tree = Expr::Cond(Condition::Tag {
            key: key.into(),
            op: TextOp::IsNull,
        });
        assert_eq!(
            parse_filter(&tree.to_string(), Dialect::Mlflow),
            Ok(Some(tree.clone())),
            "{tree}"
        );
    }
}
