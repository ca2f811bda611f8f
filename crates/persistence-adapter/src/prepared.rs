//! Hand-written SQL that the connection prepares once and then reuses.
//!
//! diesel's `sql_query` marks its statement unsafe to cache, so diesel-async prepares it again
//! on every execution: on PostgreSQL a round trip of its own (Parse/Describe) before the one that
//! runs it, and a parse and plan on the server each time. A [`Prepared`] statement names its text
//! by a type ([`Sql`]), so it has a static query id and is prepared once per connection.
//!
//! The text is written once for both backends with PostgreSQL's `$n` placeholders; `$n` may
//! appear more than once. Each occurrence becomes a bind of the n-th value (`$n` on PostgreSQL,
//! `?` on SQLite, in order).

use std::marker::PhantomData;

use chrono::NaiveDateTime;
use diesel::QueryResult;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Binary, Bool, Integer, Nullable, Text, Timestamp, Untyped};

/// A statement's text, as a type. Implement it with [`sql!`], which also keeps the text cut
/// at its placeholders, once.
pub(crate) trait Sql: 'static {
    /// The text, with `$1`, `$2`, … for the values.
    const TEXT: &'static str;

    /// [`Self::TEXT`] cut at its placeholders (see [`pieces`]).
    fn pieces() -> &'static Pieces;
}

/// A statement's text cut at its placeholders: (text before, the placeholder's number), and
/// the text after the last one.
pub(crate) type Pieces = (Vec<(&'static str, usize)>, &'static str);

/// Declares `$name` as the statement `$text`.
macro_rules! sql {
    ($(#[$doc:meta])* $name:ident = $text:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;
        impl $crate::prepared::Sql for $name {
            const TEXT: &'static str = $text;
            fn pieces() -> &'static $crate::prepared::Pieces {
                static PIECES: std::sync::OnceLock<$crate::prepared::Pieces> =
                    std::sync::OnceLock::new();
                PIECES.get_or_init(|| $crate::prepared::pieces(Self::TEXT))
            }
        }
    };
}
pub(crate) use sql;

/// A value bound to a placeholder.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Value<'a> {
    Text(&'a str),
    NullableText(Option<&'a str>),
    BigInt(i64),
    Integer(i32),
    Bool(bool),
    Timestamp(&'a NaiveDateTime),
    NullableTimestamp(Option<&'a NaiveDateTime>),
    NullableBinary(Option<&'a [u8]>),
}

/// The statement `S` with its values.
#[derive(Debug)]
pub(crate) struct Prepared<'a, S> {
    values: Vec<Value<'a>>,
    text: PhantomData<S>,
}

impl<'a, S: Sql> Prepared<'a, S> {
    /// `S` with `values` for `$1`, `$2`, ….
    pub(crate) fn new(values: Vec<Value<'a>>) -> Self {
        Self {
            values,
            text: PhantomData,
        }
    }
}

impl<S: Sql> QueryId for Prepared<'_, S> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S: Sql> Query for Prepared<'_, S> {
    type SqlType = Untyped;
}

/// The text of `sql` cut at its placeholders: (text before, the placeholder's number), and
/// the text after the last one.
pub(crate) fn pieces(sql: &str) -> (Vec<(&str, usize)>, &str) {
    let mut pieces = Vec::new();
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        let digits = rest[at + 1..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        let Ok(number) = rest[at + 1..at + 1 + digits].parse::<usize>() else {
            break;
        };
        pieces.push((&rest[..at], number));
        rest = &rest[at + 1 + digits..];
    }
    (pieces, rest)
}

macro_rules! walk_for {
    ($backend:ty) => {
        impl<S: Sql> QueryFragment<$backend> for Prepared<'_, S> {
            fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, $backend>) -> QueryResult<()> {
                let (pieces, last) = S::pieces();
                for &(text, number) in pieces {
                    out.push_sql(text);
                    let value = self.values.get(number.wrapping_sub(1)).ok_or_else(|| {
                        diesel::result::Error::QueryBuilderError(
                            format!("no value for ${number}").into(),
                        )
                    })?;
                    match value {
                        Value::Text(v) => out.push_bind_param::<Text, _>(*v)?,
                        Value::NullableText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                        Value::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                        Value::Integer(v) => out.push_bind_param::<Integer, _>(v)?,
                        Value::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
                        Value::Timestamp(v) => out.push_bind_param::<Timestamp, _>(*v)?,
                        Value::NullableTimestamp(v) => {
                            out.push_bind_param::<Nullable<Timestamp>, _>(v)?;
                        }
                        Value::NullableBinary(v) => {
                            out.push_bind_param::<Nullable<Binary>, _>(v)?;
                        }
                    }
                }
                out.push_sql(last);
                Ok(())
            }
        }
    };
}

walk_for!(diesel::pg::Pg);
walk_for!(diesel::sqlite::Sqlite);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_in_order_and_may_repeat() {
        let (found, last) = pieces("SELECT $1, $2 + $12 WHERE x = $2;");
        assert_eq!(
            found,
            vec![("SELECT ", 1), (", ", 2), (" + ", 12), (" WHERE x = ", 2)]
        );
        assert_eq!(last, ";");
        let (found, last) = pieces("no placeholders");
        assert!(found.is_empty());
        assert_eq!(last, "no placeholders");
    }

    sql!(Twice = "SELECT $1 + $1 AS a, $2 AS b");

    #[test]
    fn each_backend_gets_its_placeholders() {
        let query = Prepared::<Twice>::new(vec![Value::BigInt(1), Value::Text("x")]);
        let pg = diesel::debug_query::<diesel::pg::Pg, _>(&query).to_string();
        assert!(pg.starts_with("SELECT $1 + $2 AS a, $3 AS b"), "{pg}");
        let lite = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
        assert!(lite.starts_with("SELECT ? + ? AS a, ? AS b"), "{lite}");
    }

    #[test]
    fn a_missing_value_is_an_error_not_a_panic() {
        let query = Prepared::<Twice>::new(vec![Value::BigInt(1)]);
        let mut builder = diesel::pg::PgQueryBuilder::default();
        assert!(
            QueryFragment::<diesel::pg::Pg>::to_sql(&query, &mut builder, &diesel::pg::Pg).is_err()
        );
    }
}
