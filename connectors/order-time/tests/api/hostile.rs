//! What a broken or hostile Order Time can send: broken rows, more rows than asked for, huge
//! bodies. One bad row is rejected alone; the page and the store go on.

use orderport_core::ChannelError;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::*;

const WINDOW: (&str, &str) = ("2026-03-01T10:00:00Z", "2026-03-01T11:00:00Z");

/// A list reply made of raw row texts, as bytes (so rows can be anything).
fn raw_list(rows: &[Vec<u8>]) -> ResponseTemplate {
    let mut body = b"[".to_vec();
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(row);
    }
    body.push(b']');
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_bytes(body)
}

fn good_row(doc_no: u32) -> Vec<u8> {
    serde_json::to_vec(&ship_doc(doc_no, "2026-03-01T10:30:00")).unwrap()
}

#[tokio::test]
async fn a_row_with_an_absurd_number_or_a_bad_byte_is_rejected_alone() {
    let server = MockServer::start().await;
    let huge = br#"{"DocNo": 2, "TotalAmount": 1e400, "RecordInfo": {"ModifiedDate": "2026-03-01T10:30:00"}}"#.to_vec();
    let mut bad_byte = good_row(3);
    let at = bad_byte.windows(6).position(|w| w == b"Widget").unwrap();
    bad_byte[at] = 0xff;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(raw_list(&[good_row(1), huge, bad_byte, good_row(4)]))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel(&server, "");
    let pages = walk(channel.as_ref(), window(WINDOW.0, WINDOW.1))
        .await
        .unwrap();
    assert_eq!(numbers(&accepted(&pages)), ["1", "4"]);
    let rejected = rejected(&pages);
    let by_doc: Vec<(Option<&str>, &str)> = rejected
        .iter()
        .map(|r| (r.external_id.as_deref(), r.reasons[0].message.as_str()))
        .collect();
    assert_eq!(by_doc.len(), 2, "{by_doc:?}");
    assert_eq!(by_doc[0].0, Some("2"));
    assert!(by_doc[0].1.contains("cannot be read"), "{by_doc:?}");
    assert_eq!(by_doc[1].0, Some("3"));
    assert!(by_doc[1].1.contains("cannot be read"), "{by_doc:?}");
}

#[tokio::test]
async fn an_unreadable_or_missing_ship_doc_detail_rejects_that_row_alone() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            summary(1, "2026-03-01T10:30:00"),
            summary(2, "2026-03-01T10:31:00"),
            summary(3, "2026-03-01T10:32:00"),
        ])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ship_doc(1, "2026-03-01T10:30:00")))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_bytes(b"{\"DocNo\": 2, \"Tax\": 1e400}".to_vec()),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/shipdoc"))
        .and(query_param("docNo", "3"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"Message": "not found"})))
        .mount(&server)
        .await;
    let channel = channel(&server, "");
    let pages = walk(channel.as_ref(), window(WINDOW.0, WINDOW.1))
        .await
        .unwrap();
    assert_eq!(numbers(&accepted(&pages)), ["1"]);
    let rejected = rejected(&pages);
    assert_eq!(rejected.len(), 2);
    assert_eq!(rejected[0].external_id.as_deref(), Some("2"));
    assert!(rejected[0].reasons[0]
        .message
        .contains("details of ship doc 2"));
    assert_eq!(rejected[1].external_id.as_deref(), Some("3"));
    assert!(rejected[1].reasons[0].message.contains("deleted"));
}

#[tokio::test]
async fn more_rows_than_asked_for_is_a_protocol_error() {
    let server = MockServer::start().await;
    let rows: Vec<Vec<u8>> = (1..=6).map(good_row).collect();
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(raw_list(&rows))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel(&server, "page_size = 5\nretry_max_attempts = 1");
    let err = walk(channel.as_ref(), window(WINDOW.0, WINDOW.1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Protocol { detail, .. } if detail.contains("more than the 5 rows")),
        "{err}"
    );
}

#[tokio::test]
async fn a_list_reply_over_the_size_limit_is_refused_without_reading_it_whole() {
    let server = MockServer::start().await;
    let rows: Vec<Vec<u8>> = (1..=100).map(good_row).collect();
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(raw_list(&rows))
        .expect(1)
        .mount(&server)
        .await;
    let channel = channel(&server, "max_response_bytes = 8192\nretry_max_attempts = 1");
    let err = walk(channel.as_ref(), window(WINDOW.0, WINDOW.1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Protocol { detail, .. } if detail.contains("max_response_bytes (8192 bytes")),
        "{err}"
    );
}

#[tokio::test]
async fn a_truncated_list_is_a_protocol_error_not_rejections() {
    let server = MockServer::start().await;
    let mut body = serde_json::to_vec(&json!([ship_doc(1, "2026-03-01T10:30:00")])).unwrap();
    body.truncate(body.len() / 2);
    Mock::given(method("POST"))
        .and(path("/api/list"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .mount(&server)
        .await;
    let channel = channel(&server, "retry_max_attempts = 1");
    let err = walk(channel.as_ref(), window(WINDOW.0, WINDOW.1))
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Protocol { .. }), "{err}");
}
