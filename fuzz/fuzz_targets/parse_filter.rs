//! Feeds arbitrary UTF-8 to the filter parser (both dialects) and the
//! order_by parser. Only crashes count as findings; in addition, whatever
//! parses must print to text that parses back to the same tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use runstore_query::{Dialect, parse_filter, parse_order_by, parse_order_by_clause};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    for dialect in [Dialect::Mlflow, Dialect::Extended] {
        match parse_filter(input, dialect) {
            Ok(Some(tree)) => {
                let text = tree.to_string();
                assert_eq!(
                    parse_filter(&text, dialect),
                    Ok(Some(tree)),
                    "{input:?} printed as {text:?} does not read back"
                );
            }
            Ok(None) => assert!(input.is_empty()),
            Err(e) => {
                let message = e.to_string();
                assert!(!message.contains('\n'), "multi-line error {message:?}");
                assert!(
                    e.offset() <= input.chars().count(),
                    "offset past the end: {message}"
                );
            }
        }
    }
    if let Ok(clause) = parse_order_by_clause(input) {
        let text = clause.to_string();
        assert_eq!(
            parse_order_by_clause(&text),
            Ok(clause),
            "{input:?} printed as {text:?}"
        );
    }
    // The same bytes as a list of clauses, split at '|'.
    let clauses: Vec<&str> = input.split('|').collect();
    if let Ok(parsed) = parse_order_by(&clauses) {
        let texts: Vec<String> = parsed.iter().map(ToString::to_string).collect();
        assert_eq!(parse_order_by(&texts), Ok(parsed));
    }
});
