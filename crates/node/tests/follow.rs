//! Following a sender: a node that follows node 0 fetches the attachment
//! node 0 publishes, in the background, from the peers the chain names; a
//! node with too small a disk budget does not; the follower's progress
//! survives a restart. Stops by itself.

mod common;

use std::time::Duration;

use common::{bounded, noise, wait_for, Net};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_fetches_a_followed_senders_attachment_within_its_budget() {
    bounded(Duration::from_secs(120), async {
        let dir = tempfile::tempdir().unwrap();
        let net = Net::new(3, 140);
        let sender = net.keys[0].address();
        let mut nodes = net
            .start_with(3, |i, b| match i {
                1 => b
                    .data_dir(dir.path().join("follower"))
                    .follow(sender)
                    .follow_budget(10 << 20),
                // Follows too, with room for nothing.
                2 => b.follow(sender).follow_budget(1_000),
                _ => b,
            })
            .await;
        wait_for(Duration::from_secs(20), "first blocks", || {
            nodes.iter().all(|n| n.head().number >= 1)
        })
        .await;

        let file = dir.path().join("photo.bin");
        let content = noise(7, 150_000);
        std::fs::write(&file, &content).unwrap();
        let uploaded = nodes[0].attach_put(&file).await.unwrap();
        nodes[0]
            .message(
                "a photo",
                Some(tau_state::AttachmentRef {
                    root: uploaded.root,
                    size: uploaded.size,
                }),
                1,
            )
            .await
            .unwrap();

        wait_for(Duration::from_secs(60), "the follower to fetch it", || {
            nodes[1].following().fetched.contains(&uploaded.root)
        })
        .await;
        assert!(nodes[1].pinned().unwrap().contains(&uploaded.root));
        let out = dir.path().join("out");
        nodes[1].attach_export(uploaded.root, &out).await.unwrap();
        assert_eq!(std::fs::read(out.join("photo.bin")).unwrap(), content);
        let spent = nodes[1].following().spent;
        assert!(spent >= uploaded.size, "spent {spent}");

        // The node with a 1,000-byte budget scanned past the message and
        // fetched nothing.
        wait_for(
            Duration::from_secs(20),
            "the small follower to scan it",
            || {
                let status = nodes[2].following();
                status.scanned >= nodes[1].following().scanned && status.queued == 0
            },
        )
        .await;
        assert!(nodes[2].following().fetched.is_empty());
        assert_eq!(nodes[2].following().spent, 0);

        // Restarted, the follower keeps what it fetched and spent.
        let follower = nodes.remove(1);
        let scanned = follower.following().scanned;
        follower.shutdown().await.unwrap();
        let restarted = net
            .builder(1)
            .data_dir(dir.path().join("follower"))
            .follow(sender)
            .follow_budget(10 << 20)
            .bootstrap(nodes[0].dial_addr().unwrap())
            .start()
            .await
            .unwrap();
        wait_for(Duration::from_secs(20), "the follower's first tick", || {
            restarted.following().scanned >= scanned
        })
        .await;
        let status = restarted.following();
        assert!(status.fetched.contains(&uploaded.root));
        assert_eq!(status.spent, spent);
        restarted.shutdown().await.unwrap();
        for n in nodes {
            n.shutdown().await.unwrap();
        }
    })
    .await;
}
