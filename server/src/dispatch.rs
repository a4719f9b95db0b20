//! Running one QUERY, PREPARE, EXECUTE or BATCH through the [`Handler`], and what its result
//! changes for the connection: `USE` sets the keyspace of later requests, DDL is announced
//! to connections registered for schema changes.

use crate::connection::Shared;
use crate::handler::Handler;
use crate::metrics::RequestKind;
use crate::protocol::{Request, Response};
use scrolldb::cql::result::{Answer, CqlError, ErrorKind, QueryResult};
use std::sync::Mutex;

/// Runs one QUERY, PREPARE, EXECUTE or BATCH through the handler.
pub(crate) async fn run_request<H: Handler>(
    shared: &Shared<H>,
    keyspace: &Mutex<Option<String>>,
    request: Request,
) -> Response {
    let current = keyspace.lock().map(|k| k.clone()).unwrap_or_default();
    let mut session = shared.handler.session(current.as_deref());
    let h = &shared.handler;
    let (outcome, skip_metadata, consistency) = match request {
        Request::Query {
            cql,
            params,
            skip_metadata,
        } => {
            let cl = params.consistency;
            (
                h.query_answer(&mut session, &cql, params).await,
                skip_metadata,
                cl,
            )
        }
        Request::Prepare(cql) => (
            h.prepare(&session, &cql)
                .map(|p| Answer::Result(QueryResult::Prepared(p))),
            false,
            1,
        ),
        Request::Execute {
            id,
            params,
            skip_metadata,
        } => {
            let cl = params.consistency;
            (
                h.execute_answer(&mut session, &id, params).await,
                skip_metadata,
                cl,
            )
        }
        Request::Batch(batch) => {
            let cl = batch.consistency;
            (
                h.batch(&mut session, batch).await.map(Answer::Result),
                false,
                cl,
            )
        }
        other => (
            Err(CqlError::new(
                ErrorKind::Protocol,
                format!("Unexpected message {}", request_name(&other)),
            )),
            false,
            1,
        ),
    };
    match outcome {
        Ok(Answer::SharedRows(rows)) => Response::SharedRows {
            rows,
            skip_metadata,
        },
        Ok(Answer::Result(result)) => {
            match &result {
                QueryResult::SetKeyspace(ks) => {
                    if let Ok(mut k) = keyspace.lock() {
                        *k = Some(ks.clone());
                    }
                }
                QueryResult::SchemaChange(change) => {
                    // No receivers is fine: nobody registered.
                    let _ = shared.events.send(change.clone());
                }
                _ => {}
            }
            Response::Result {
                result,
                skip_metadata,
            }
        }
        Err(error) => Response::Error { error, consistency },
    }
}

/// The kind a request is counted under in the metrics (`None`: not a CQL request).
pub(crate) fn request_kind(r: &Request) -> Option<RequestKind> {
    match r {
        Request::Query { .. } => Some(RequestKind::Query),
        Request::Prepare(_) => Some(RequestKind::Prepare),
        Request::Execute { .. } => Some(RequestKind::Execute),
        Request::Batch(_) => Some(RequestKind::Batch),
        _ => None,
    }
}

pub(crate) fn request_name(r: &Request) -> &'static str {
    match r {
        Request::Startup(_) => "STARTUP",
        Request::Options => "OPTIONS",
        Request::Query { .. } => "QUERY",
        Request::Prepare(_) => "PREPARE",
        Request::Execute { .. } => "EXECUTE",
        Request::Batch(_) => "BATCH",
        Request::Register(_) => "REGISTER",
        Request::AuthResponse(_) => "AUTH_RESPONSE",
    }
}
