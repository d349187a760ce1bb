//! What a message's text says beyond the text: its verification code and the
//! service it comes from, found once when the message is stored (the
//! `code` and `service` columns) so that no view extracts them again.
//!
//! The finders cost about 2 µs per character, so they run off the async
//! runtime (`spawn_blocking`): a batch of long messages delays no request.

use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, DeriveIden, TransactionSession, TransactionTrait};

/// The code and service of one message; empty when none was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extracted {
    /// `domain::extract_code`.
    pub code: String,
    /// `domain::recognise_service`, even when the sender names it already
    /// (views leave it out then).
    pub service: String,
    /// `domain::otp::validity` of a message with a code, in seconds; 0 when
    /// the text gives none.
    pub code_valid_secs: i32,
}

impl Extracted {
    /// Runs the finders on one message. Should one of them panic, the
    /// message is stored all the same, without a code: a finder's bug must
    /// not lose an SMS.
    fn of(sender: &str, body: &str) -> Self {
        let found = std::panic::catch_unwind(|| {
            let code = domain::extract_code(body);
            let valid = code.as_ref().and_then(|_| domain::otp::validity(body));
            (code, domain::recognise_service(sender, body), valid)
        });
        match found {
            Ok((code, service, valid)) => Self {
                code: code.unwrap_or_default(),
                service: service.unwrap_or_default().to_owned(),
                code_valid_secs: valid
                    .and_then(|d| i32::try_from(d.as_secs()).ok())
                    .unwrap_or(0),
            },
            Err(_) => {
                tracing::error!(
                    body_chars = body.chars().count(),
                    "code extraction panicked; message stored without a code"
                );
                Self::default()
            }
        }
    }
}

/// [`Extracted::of`] each `(sender, body)`, in order, on a blocking thread.
pub(crate) async fn extract_all(
    messages: Vec<(String, String)>,
) -> Result<Vec<Extracted>, tokio::task::JoinError> {
    tokio::task::spawn_blocking(move || {
        messages
            .iter()
            .map(|(sender, body)| Extracted::of(sender, body))
            .collect()
    })
    .await
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    Sender,
    Body,
    Code,
    Service,
}

/// Rows read, extracted and written back per step (and per transaction).
const CHUNK: u64 = 256;

/// Fills `code` and `service` of every row that has no code yet (`NULL`:
/// stored before the columns existed, or by an older version during a
/// rolling upgrade or after a rollback), in id order, [`CHUNK`] rows per
/// committed transaction, so memory and transactions stay bounded and a run
/// cut short keeps its work: the next run starts with what is left. Finds
/// the rows through the partial index `messages_unextracted_idx`, so a run
/// with nothing to do costs one index probe. Returns the rows filled.
///
/// Used by the migration that added the columns and by every
/// [`crate::Store::migrate`]; it must keep working on that schema.
pub(crate) async fn backfill<C>(db: &C) -> Result<u64, DbErr>
where
    C: ConnectionTrait + TransactionTrait,
{
    let mut after = i64::MIN;
    let mut filled = 0;
    loop {
        let select = Query::select()
            .columns([Messages::Id, Messages::Sender, Messages::Body])
            .from(Messages::Table)
            .and_where(Expr::col(Messages::Code).is_null())
            .and_where(Expr::col(Messages::Id).gt(after))
            .order_by(Messages::Id, Order::Asc)
            .limit(CHUNK)
            .to_owned();
        let rows = db.query_all(&select).await?;
        let Some(last) = rows.last() else {
            return Ok(filled);
        };
        after = last.try_get("", "id")?;
        let mut ids = Vec::with_capacity(rows.len());
        let mut texts = Vec::with_capacity(rows.len());
        for row in &rows {
            ids.push(row.try_get::<i64>("", "id")?);
            texts.push((row.try_get("", "sender")?, row.try_get("", "body")?));
        }
        drop(rows);
        let found = extract_all(texts)
            .await
            .map_err(|e| DbErr::Custom(format!("code extraction did not finish: {e}")))?;
        let txn = db.begin().await?;
        for (id, found) in ids.into_iter().zip(found) {
            let update = Query::update()
                .table(Messages::Table)
                .values([
                    (Messages::Code, found.code.into()),
                    (Messages::Service, found.service.into()),
                ])
                .and_where(Expr::col(Messages::Id).eq(id))
                .and_where(Expr::col(Messages::Code).is_null())
                .to_owned();
            filled += txn.execute(&update).await?.rows_affected();
        }
        txn.commit().await?;
    }
}
