//! The cluster harness itself: a three-node JetStream cluster elects a new
//! stream leader when the leader is `kill -9`ed, and the Sentinels promote
//! the replica when the Redis master is. The cluster tests and
//! `make chaos-cluster` rely on both.

use std::time::Duration;

use cloudsms_tests::nats_cluster::NatsCluster;
use cloudsms_tests::sentinel::RedisSentinels;

#[tokio::test]
async fn a_killed_stream_leader_is_replaced_and_rejoins() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = NatsCluster::start(dir.path(), 3).await.unwrap();
    let client = async_nats::ConnectOptions::new()
        .connect(
            cluster
                .nodes
                .iter()
                .map(|n| n.url().parse::<async_nats::ServerAddr>().unwrap())
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    js.create_stream(async_nats::jetstream::stream::Config {
        name: "HARNESS".into(),
        subjects: vec!["harness.>".into()],
        num_replicas: 3,
        ..Default::default()
    })
    .await
    .unwrap();
    js.publish("harness.a", "one".into())
        .await
        .unwrap()
        .await
        .unwrap();

    let leader = cluster.stream_leader("HARNESS").await.unwrap();
    let i = cluster.index_of(&leader).unwrap();
    cluster.kill9(i);
    let next = cluster
        .wait_new_leader("HARNESS", &leader, Duration::from_secs(30))
        .await
        .unwrap();
    assert_ne!(next, leader);
    cluster.restart(i).await.unwrap();
    cluster
        .wait_jetstream(Duration::from_secs(30))
        .await
        .unwrap();
    let mut stream = js.get_stream("HARNESS").await.unwrap();
    assert_eq!(stream.info().await.unwrap().state.messages, 1);
}

#[tokio::test]
async fn the_sentinels_promote_the_replica_when_the_master_dies() {
    let dir = tempfile::tempdir().unwrap();
    let mut group = RedisSentinels::start(dir.path()).await.unwrap();
    let first = group.master_index().await.unwrap();
    let old = group.nodes[first].port;
    group.kill9(first);
    let new = group
        .wait_failover(old, Duration::from_secs(30))
        .await
        .unwrap();
    assert_ne!(new, old);
    group.restart(first).await.unwrap();
    assert_eq!(group.master_port().await.unwrap(), new);
}
