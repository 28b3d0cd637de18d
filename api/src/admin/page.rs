//! Keyset pagination on `(created_at, id)`: stable under concurrent inserts, and the same on
//! SQLite and PostgreSQL. The cursor is opaque to clients (base64url of the last row's key).

use super::error::AdminError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

/// Where the next page starts: the key of the last row of this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) at: DateTime<Utc>,
    pub(crate) id: Uuid,
}

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        let at = self.at.to_rfc3339_opts(SecondsFormat::Nanos, true);
        URL_SAFE_NO_PAD.encode(format!("{at}|{}", self.id))
    }

    pub(crate) fn decode(raw: &str) -> Result<Self, String> {
        let bad = || "is not a cursor returned by this API".to_owned();
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (at, id) = text.split_once('|').ok_or_else(bad)?;
        Ok(Self {
            at: DateTime::parse_from_rfc3339(at)
                .map_err(|_| bad())?
                .to_utc(),
            id: Uuid::parse_str(id).map_err(|_| bad())?,
        })
    }
}

/// `limit`: at most `max`, `default` when absent.
pub(crate) fn limit(raw: Option<&str>, default: u64, max: u64) -> Result<u64, AdminError> {
    Ok(super::extract::param("limit", raw, |s| {
        s.parse::<u64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("must be a number between 1 and {max}, got {s:?}"))
    })?
    .unwrap_or(default))
}

pub(crate) fn cursor(raw: Option<&str>) -> Result<Option<Cursor>, AdminError> {
    super::extract::param("cursor", raw, Cursor::decode)
}

/// One page of rows and the cursor of the next one (`None` on the last page).
pub(crate) struct Page<M> {
    pub(crate) items: Vec<M>,
    pub(crate) next_cursor: Option<String>,
}

/// Fetches `limit` rows of `select` after `cursor`, ordered by `(created, id)` in `order`.
pub(crate) async fn fetch<E: EntityTrait>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    (created, id): (E::Column, E::Column),
    order: Order,
    cursor: Option<Cursor>,
    limit: u64,
    key: impl Fn(&E::Model) -> Cursor,
) -> Result<Page<E::Model>, DbErr> {
    let mut select = select;
    if let Some(c) = cursor {
        let after = match order {
            Order::Asc => Condition::any()
                .add(created.gt(c.at))
                .add(Condition::all().add(created.eq(c.at)).add(id.gt(c.id))),
            _ => Condition::any()
                .add(created.lt(c.at))
                .add(Condition::all().add(created.eq(c.at)).add(id.lt(c.id))),
        };
        select = select.filter(after);
    }
    let mut items = select
        .order_by(created, order.clone())
        .order_by(id, order)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = items.len() as u64 > limit;
    items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let next_cursor = if more {
        items.last().map(|m| key(m).encode())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_to_the_nanosecond() {
        let c = Cursor {
            at: "2026-11-21T22:10:00.123456789Z".parse().unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        assert!(Cursor::decode("nope").is_err());
        assert!(limit(Some("0"), 50, 200).is_err());
        assert!(limit(Some("201"), 50, 200).is_err());
        assert_eq!(limit(None, 50, 200).unwrap(), 50);
        assert_eq!(limit(Some(""), 50, 200).unwrap(), 50);
    }
}
