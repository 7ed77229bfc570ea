//! A minimal JSON reader for the test data (the crate has no serde_json
//! dev-dependency). Strict enough for generated files; panics on bad input,
//! which in a test is a failure with a message.

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub fn parse(text: &str) -> Json {
        let mut p = Reader {
            chars: text.chars().collect(),
            at: 0,
        };
        let v = p.value();
        p.ws();
        assert_eq!(p.at, p.chars.len(), "trailing data after JSON value");
        v
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn field(&self, key: &str) -> &Json {
        self.get(key)
            .unwrap_or_else(|| panic!("missing field {key:?} in {self:?}"))
    }

    pub fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("expected a string, found {other:?}"),
        }
    }

    pub fn bool(&self) -> bool {
        match self {
            Json::Bool(b) => *b,
            other => panic!("expected a bool, found {other:?}"),
        }
    }

    pub fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(items) => items,
            other => panic!("expected an array, found {other:?}"),
        }
    }
}

struct Reader {
    chars: Vec<char>,
    at: usize,
}

impl Reader {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> char {
        let c = self.peek().expect("unexpected end of JSON");
        self.at += 1;
        c
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Json {
        for expected in word.chars() {
            assert_eq!(self.next(), expected, "bad JSON literal");
        }
        value
    }

    fn value(&mut self) -> Json {
        self.ws();
        match self.peek().expect("unexpected end of JSON") {
            '{' => self.object(),
            '[' => self.array(),
            '"' => Json::Str(self.string()),
            't' => self.literal("true", Json::Bool(true)),
            'f' => self.literal("false", Json::Bool(false)),
            'n' => self.literal("null", Json::Null),
            _ => self.number(),
        }
    }

    fn object(&mut self) -> Json {
        self.next();
        let mut fields = Vec::new();
        self.ws();
        if self.peek() == Some('}') {
            self.next();
            return Json::Obj(fields);
        }
        loop {
            self.ws();
            let key = self.string();
            self.ws();
            assert_eq!(self.next(), ':');
            fields.push((key, self.value()));
            self.ws();
            match self.next() {
                ',' => continue,
                '}' => return Json::Obj(fields),
                c => panic!("expected , or }} in object, found {c:?}"),
            }
        }
    }

    fn array(&mut self) -> Json {
        self.next();
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(']') {
            self.next();
            return Json::Arr(items);
        }
        loop {
            items.push(self.value());
            self.ws();
            match self.next() {
                ',' => continue,
                ']' => return Json::Arr(items),
                c => panic!("expected , or ] in array, found {c:?}"),
            }
        }
    }

    fn hex4(&mut self) -> u32 {
        let digits: String = (0..4).map(|_| self.next()).collect();
        u32::from_str_radix(&digits, 16).expect("bad \\u escape")
    }

    fn string(&mut self) -> String {
        assert_eq!(self.next(), '"', "expected a JSON string");
        let mut out = String::new();
        loop {
            match self.next() {
                '"' => return out,
                '\\' => match self.next() {
                    '"' => out.push('"'),
                    '\\' => out.push('\\'),
                    '/' => out.push('/'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'u' => {
                        let hi = self.hex4();
                        let code = if (0xD800..0xDC00).contains(&hi) {
                            assert_eq!((self.next(), self.next()), ('\\', 'u'), "lone surrogate");
                            let lo = self.hex4();
                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                        } else {
                            hi
                        };
                        out.push(char::from_u32(code).expect("invalid code point"));
                    }
                    c => panic!("bad escape \\{c}"),
                },
                c => out.push(c),
            }
        }
    }

    fn number(&mut self) -> Json {
        let start = self.at;
        while matches!(self.peek(), Some('-' | '+' | '.' | 'e' | 'E' | '0'..='9')) {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        Json::Num(
            text.parse()
                .unwrap_or_else(|_| panic!("bad JSON number {text:?}")),
        )
    }
}

#[test]
fn reads_json() {
    let v =
        Json::parse(r#"{"a": [1, -2.5e3, true, null], "b": "x\n\u00e9\ud83d\ude00\"", "c": {}}"#);
    assert_eq!(v.field("a").arr()[1], Json::Num(-2500.0));
    assert_eq!(v.field("b").str(), "x\né😀\"");
    assert_eq!(v.field("c"), &Json::Obj(vec![]));
}
