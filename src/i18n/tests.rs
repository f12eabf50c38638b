//! The catalogs checked against each other, negotiation, and dates in each language.

use std::collections::{BTreeMap, BTreeSet};

use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};

use super::*;

/// Each message's placeholders (`$name`s), by message id, or the parse errors.
fn placeholders(source: &str) -> Result<BTreeMap<String, BTreeSet<String>>, String> {
    let resource = fluent_syntax::parser::parse(source).map_err(|(_, errors)| format!("{errors:?}"))?;
    let mut out = BTreeMap::new();
    for entry in resource.body {
        match entry {
            Entry::Message(m) => {
                let mut vars = BTreeSet::new();
                if let Some(p) = &m.value {
                    pattern_vars(p, &mut vars);
                }
                out.insert(m.id.name.to_owned(), vars);
            }
            Entry::Junk { content } => return Err(format!("unreadable: {content}")),
            _ => {}
        }
    }
    Ok(out)
}

fn pattern_vars(p: &Pattern<&str>, out: &mut BTreeSet<String>) {
    for element in &p.elements {
        if let PatternElement::Placeable { expression } = element {
            expression_vars(expression, out);
        }
    }
}

fn expression_vars(e: &Expression<&str>, out: &mut BTreeSet<String>) {
    match e {
        Expression::Inline(i) => inline_vars(i, out),
        Expression::Select { selector, variants } => {
            inline_vars(selector, out);
            for v in variants {
                pattern_vars(&v.value, out);
            }
        }
    }
}

fn inline_vars(i: &InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match i {
        InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_owned());
        }
        InlineExpression::Placeable { expression } => expression_vars(expression, out),
        InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_vars(a, out);
            }
            for a in &arguments.named {
                inline_vars(&a.value, out);
            }
        }
        _ => {}
    }
}

/// What is wrong between the catalogs: a message missing from a language, or a language's
/// message using other placeholders than the first (the reference) language's.
fn check(catalogs: &[(&str, &str)]) -> Vec<String> {
    let mut problems = Vec::new();
    let parsed: Vec<(&str, BTreeMap<String, BTreeSet<String>>)> = catalogs
        .iter()
        .filter_map(|(name, source)| match placeholders(source) {
            Ok(p) => Some((*name, p)),
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                None
            }
        })
        .collect();
    let Some((reference_name, reference)) = parsed.first() else { return problems };
    let all: BTreeSet<&String> = parsed.iter().flat_map(|(_, m)| m.keys()).collect();
    for id in all {
        for (name, messages) in &parsed {
            match (messages.get(id), reference.get(id)) {
                (None, _) => problems.push(format!("{name}: no message {id}")),
                (Some(vars), Some(wanted)) if vars != wanted => {
                    problems.push(format!("{name}: {id} uses {vars:?}, {reference_name} {wanted:?}"))
                }
                _ => {}
            }
        }
    }
    problems
}

fn sources() -> Vec<(&'static str, &'static str)> {
    Lang::ALL.iter().map(|l| (l.tag(), SOURCES[l.index()])).collect()
}

#[test]
fn every_message_is_in_every_language_with_the_same_placeholders() {
    assert_eq!(check(&sources()), Vec::<String>::new());
    // And every bundle builds (the sources parse and no id is defined twice).
    for lang in Lang::ALL {
        assert!(!lang.text("sessions").is_empty(), "{lang}");
    }
}

#[test]
fn the_check_finds_a_missing_message_and_a_dropped_placeholder() {
    let en = "hello = Hello { $name }\nbye = Bye\n";
    let fr_missing = "hello = Bonjour { $name }\n";
    let es_dropped = "hello = Hola\nbye = Adiós\n";
    assert_eq!(
        check(&[("en", en), ("fr", fr_missing), ("es", es_dropped)]),
        vec!["fr: no message bye".to_owned(), "es: hello uses {}, en {\"name\"}".to_owned()]
    );
    assert_eq!(check(&[("en", en), ("fr", "hello = {")]).len(), 1, "an unreadable file is reported");
}

#[test]
fn no_message_carries_isolation_marks_or_stray_ascii_quotes_in_french_and_spanish() {
    for lang in Lang::ALL {
        let source = SOURCES[lang.index()];
        assert!(!source.contains(['\u{2068}', '\u{2069}']), "{lang}");
    }
    // French and Spanish quote with guillemets; an English quote left behind is untranslated.
    for lang in [Lang::Fr, Lang::Es] {
        let quotes: Vec<&str> =
            SOURCES[lang.index()].lines().filter(|l| !l.starts_with('#') && l.contains('"')).collect();
        assert_eq!(quotes, Vec::<&str>::new(), "{lang}");
    }
}

#[test]
fn a_language_is_found_by_its_primary_subtag() {
    assert_eq!(Lang::of("fr"), Some(Lang::Fr));
    assert_eq!(Lang::of("fr-CH"), Some(Lang::Fr));
    assert_eq!(Lang::of("ES-419"), Some(Lang::Es));
    assert_eq!(Lang::of("en_GB"), Some(Lang::En));
    assert_eq!(Lang::of("de"), None);
    assert_eq!(Lang::of(""), None);
    assert_eq!(Lang::of("french"), None);
}

#[test]
fn accept_language_picks_the_heaviest_language_we_write() {
    assert_eq!(Lang::from_accept_language("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"), Some(Lang::Fr));
    assert_eq!(Lang::from_accept_language("de-DE,de;q=0.9,es;q=0.8,en;q=0.7"), Some(Lang::Es));
    assert_eq!(Lang::from_accept_language("en;q=0.5, es;q=0.9"), Some(Lang::Es));
    assert_eq!(Lang::from_accept_language("es;q=0.5, fr;q=0.5"), Some(Lang::Es), "the earlier on a tie");
    assert_eq!(Lang::from_accept_language("fr;q=0, en;q=0.1"), Some(Lang::En), "q=0 refuses");
    assert_eq!(Lang::from_accept_language("de, ja"), None);
    assert_eq!(Lang::from_accept_language("fr;q=2, es;q=0.1234, en;q=0.3"), Some(Lang::En), "malformed weights skip");
    assert_eq!(Lang::from_accept_language(""), None);
}

#[test]
fn the_seed_date_in_each_language() {
    let d = jiff::civil::date(2022, 11, 17);
    assert_eq!(Lang::En.full_date(d), "Thursday, 17 November 2022");
    assert_eq!(Lang::Fr.full_date(d), "jeudi 17 novembre 2022");
    assert_eq!(Lang::Es.full_date(d), "jueves, 17 de noviembre de 2022");
    let morning = jiff::civil::time(9, 5, 0, 0);
    assert_eq!(Lang::En.short_time(morning), "09:05");
    assert_eq!(Lang::Fr.short_time(morning), "09:05");
    assert_eq!(Lang::Es.short_time(morning), "9:05");
    assert_eq!(Lang::Es.date_time(d.at(15, 0, 0, 0)), "jueves, 17 de noviembre de 2022, 15:00");
}

#[test]
fn counts_choose_the_plural_form_of_each_language() {
    let moderators = |lang: Lang, n| lang.format("moderators", &[("count", Arg::Count(n))]);
    assert_eq!(moderators(Lang::En, 1), "Moderator");
    assert_eq!(moderators(Lang::En, 2), "Moderators");
    assert_eq!(moderators(Lang::Fr, 1), "Modérateur");
    assert_eq!(moderators(Lang::Fr, 3), "Modérateurs");
    assert_eq!(moderators(Lang::Es, 1), "Moderador");
    assert_eq!(
        Lang::Fr.format("confirmed-participants", &[("count", Arg::Count(28))]),
        "Participants confirmés (28)",
        "no isolation marks around a number"
    );
}
