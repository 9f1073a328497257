//! The connection registry: a component's client follows `config:redis:<component>`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tracing_redis::config::{ConnectionRegistry, RedisComponentConfig};
use tracing_redis::store::Store;

use super::{DEADLINE, live};
use crate::support::{RedisServer, wait_until};

fn get_in_db(server: &RedisServer, db: i64, key: &str) -> Option<String> {
    let mut con = server.connection();
    redis::cmd("SELECT").arg(db).exec(&mut con).unwrap();
    redis::cmd("GET").arg(key).query(&mut con).unwrap()
}

fn client_ids(server: &RedisServer) -> String {
    redis::cmd("CLIENT")
        .arg("LIST")
        .query(&mut server.connection())
        .unwrap()
}

#[test]
fn a_new_client_follows_a_database_change_and_the_old_one_is_dropped() {
    let server = RedisServer::start();
    let store = Store::new();
    let mut admin = server.connection();
    store
        .set_config(&mut admin, "redis", "logs", &json!({"url": server.url()}))
        .unwrap();
    let live = live(&server, store.clone(), Duration::from_secs(60));
    let registry = ConnectionRegistry::new(live);

    registry
        .with_connection("logs", |con| {
            redis::cmd("SET")
                .arg("k0")
                .arg("v")
                .exec(con)
                .map_err(Into::into)
        })
        .unwrap();
    assert_eq!(get_in_db(&server, 0, "k0").as_deref(), Some("v"));
    let old = registry.client("logs").unwrap();
    assert_eq!(old.connection_info().redis_settings().db(), 0);
    assert_eq!(
        old.idle_connections(),
        1,
        "the connection went back to the pool"
    );
    // A connection in use during the change.
    let mut in_use = registry.connection("logs").unwrap();
    let in_use_id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut *in_use).unwrap();

    let url3 = format!("{}?db=3", server.url());
    store
        .set_config(&mut admin, "redis", "logs", &json!({"url": url3}))
        .unwrap();
    assert!(wait_until(DEADLINE, || !Arc::ptr_eq(
        &registry.client("logs").unwrap(),
        &old
    )));
    let new = registry.client("logs").unwrap();
    assert_eq!(new.connection_info().redis_settings().db(), 3);
    assert_eq!(new.config(), Some(&RedisComponentConfig::from_url(url3)));
    assert!(old.is_retired() && !new.is_retired());
    assert_eq!(
        old.idle_connections(),
        0,
        "idle connections of the old client are closed"
    );

    registry
        .with_connection("logs", |con| {
            redis::cmd("SET")
                .arg("k3")
                .arg("v")
                .exec(con)
                .map_err(Into::into)
        })
        .unwrap();
    assert_eq!(get_in_db(&server, 3, "k3").as_deref(), Some("v"));
    assert_eq!(get_in_db(&server, 0, "k3"), None);

    // The connection still in use finishes its work, then is closed rather than pooled.
    redis::cmd("PING").exec(&mut *in_use).unwrap();
    assert!(client_ids(&server).contains(&format!("id={in_use_id} ")));
    drop(in_use);
    assert_eq!(old.idle_connections(), 0);
    assert!(wait_until(DEADLINE, || !client_ids(&server)
        .contains(&format!("id={in_use_id} "))));
}

#[test]
fn host_and_port_fields_configure_a_tcp_connection() {
    let server = RedisServer::options().tcp().start();
    let port: u16 = server
        .tcp_url()
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let store = Store::new();
    store
        .set_config(
            &mut server.connection(),
            "redis",
            "stats",
            &json!({"host": "127.0.0.1", "port": port, "db": 2}),
        )
        .unwrap();
    let registry = ConnectionRegistry::new(live(&server, store, Duration::from_secs(60)));
    let mut con = registry.connection("stats").unwrap();
    redis::cmd("SET")
        .arg("k2")
        .arg("v")
        .exec(&mut *con)
        .unwrap();
    assert_eq!(get_in_db(&server, 2, "k2").as_deref(), Some("v"));
    assert_eq!(con.owner().component(), "stats");
}

#[test]
fn a_bad_configuration_keeps_the_last_good_client() {
    let server = RedisServer::start();
    let store = Store::new();
    let mut admin = server.connection();
    store
        .set_config(&mut admin, "redis", "logs", &json!({"url": server.url()}))
        .unwrap();
    let registry = ConnectionRegistry::new(live(&server, store.clone(), Duration::from_secs(60)));
    let good = registry.client("logs").unwrap();
    assert!(registry.error("logs").is_none());

    store
        .set_config(&mut admin, "redis", "logs", &json!({"hots": "10.0.0.1"}))
        .unwrap();
    assert!(wait_until(DEADLINE, || registry.error("logs").is_some()));
    let err = registry.error("logs").unwrap();
    assert!(
        err.is_malformed() && err.message().contains("`config:redis:logs`"),
        "{err}"
    );
    assert!(err.message().contains("hots"), "{err}");
    assert!(Arc::ptr_eq(&registry.client("logs").unwrap(), &good));
    assert!(!good.is_retired());

    // Malformed JSON is refused one level down, with the same outcome.
    redis::cmd("SET")
        .arg("config:redis:logs")
        .arg("{")
        .exec(&mut admin)
        .unwrap();
    store
        .publish_config_changed(&mut admin, "config:redis:logs")
        .unwrap();
    assert!(wait_until(DEADLINE, || registry
        .error("logs")
        .is_some_and(|e| e.message().contains("not valid JSON"))));
    assert!(Arc::ptr_eq(&registry.client("logs").unwrap(), &good));
}

#[test]
fn a_component_without_configuration_needs_a_fallback() {
    let server = RedisServer::start();
    let live = live(&server, Store::new(), Duration::from_secs(60));
    let registry = ConnectionRegistry::new(live.clone());
    let err = registry.client("logs").unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(
        err.message().contains("`config:redis:logs`") && err.message().contains("config set"),
        "{err}"
    );
    let registry = ConnectionRegistry::new(live).with_fallback(server.client());
    let client = registry.client("logs").unwrap();
    assert!(client.config().is_none());
    assert!(Arc::ptr_eq(&client, &registry.client("logs").unwrap()));
}

#[test]
fn concurrent_users_get_whole_clients_during_changes() {
    const CHANGES: i64 = 40;
    const FINAL: i64 = 15;
    let server = RedisServer::start();
    let store = Store::new();
    let mut admin = server.connection();
    let url = |db: i64| format!("{}?db={db}", server.url());
    store
        .set_config(&mut admin, "redis", "logs", &json!({"url": url(0)}))
        .unwrap();
    let registry = Arc::new(ConnectionRegistry::new(live(
        &server,
        store.clone(),
        Duration::from_millis(50),
    )));
    let users: Vec<_> = (0..4)
        .map(|_| {
            let registry = Arc::clone(&registry);
            let prefix = server.url();
            std::thread::spawn(move || {
                let (mut db, mut clients) = (0, 0u64);
                let deadline = std::time::Instant::now() + Duration::from_secs(30);
                while db != FINAL {
                    assert!(std::time::Instant::now() < deadline, "stuck at db {db}");
                    let c = registry.client("logs").unwrap();
                    db = c.connection_info().redis_settings().db();
                    let cfg = c.config().unwrap().url.clone().unwrap();
                    assert_eq!(
                        cfg,
                        format!("{prefix}?db={db}"),
                        "config and client disagree"
                    );
                    clients += 1;
                }
                clients
            })
        })
        .collect();
    for n in 1..=CHANGES {
        store
            .set_config(&mut admin, "redis", "logs", &json!({"url": url(n % FINAL)}))
            .unwrap();
    }
    store
        .set_config(&mut admin, "redis", "logs", &json!({"url": url(FINAL)}))
        .unwrap();
    for u in users {
        assert!(u.join().unwrap() > 0);
    }
}
