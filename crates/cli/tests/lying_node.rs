//! `tau wallet balance` against a node that lies: the wallet shows a balance
//! only when its proofs check against the safety point the node named, and
//! refuses an inflated claim or a proof against another root with a clear
//! error and exit status 1. The lying node is a JSON-RPC server on
//! 127.0.0.1 serving proofs of a real genesis state.

use std::process::Command;
use std::sync::Arc;

use jsonrpsee::core::{async_trait, RpcResult};
use jsonrpsee::types::ErrorObjectOwned;
use tau_ipld::{Blockstore, MemoryBlockstore};
use tau_keys::{Address, Keypair};
use tau_rpc::api::*;
use tau_state::{Executor, Genesis, StateKey};

/// How the fake node answers `tau_account`.
#[derive(Clone, Copy, PartialEq)]
enum Lie {
    None,
    Inflated,
    OtherRoot,
    /// Names a forged state as its safety point and proves balances in it
    /// honestly: only a root the user trusts catches this.
    ForgedSafety,
}

struct FakeNode {
    lie: Lie,
    root: cid::Cid,
    other_root: cid::Cid,
    chain: Arc<Executor<MemoryBlockstore>>,
}

fn no() -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32601, "not served here", None::<()>)
}

#[async_trait]
impl TauApiServer for FakeNode {
    async fn status(&self) -> RpcResult<Status> {
        Err(no())
    }
    async fn head(&self) -> RpcResult<Head> {
        let named = match self.lie {
            Lie::ForgedSafety => self.other_root,
            _ => self.root,
        };
        let point = Point {
            root: named.to_string(),
            number: 0,
        };
        Ok(Head {
            head: point.clone(),
            safety: Some(point),
        })
    }
    async fn account(&self, address: String, _at: Option<String>) -> RpcResult<AccountProof> {
        let account: Address = address.parse().map_err(|_| no())?;
        let root = match self.lie {
            Lie::OtherRoot | Lie::ForgedSafety => self.other_root,
            _ => self.root,
        };
        let claimed = match self.lie {
            Lie::ForgedSafety => self.other_root,
            _ => self.root,
        };
        let prove = |key| tau_rpc::encode_proof(&self.chain.prove(&root, &key).unwrap());
        let balance = self.chain.balance(&root, &account).unwrap().unwrap_or(0);
        Ok(AccountProof {
            address,
            // The lie about the root keeps claiming the trusted root.
            at: Point {
                root: claimed.to_string(),
                number: 0,
            },
            balance: if self.lie == Lie::Inflated {
                balance + 1_000
            } else {
                balance
            },
            nonce: 0,
            balance_proof: prove(StateKey::Balance(account)),
            nonce_proof: prove(StateKey::Nonce(account)),
        })
    }
    async fn block(&self, _: BlockId) -> RpcResult<BlockInfo> {
        Err(no())
    }
    async fn history(&self, _: String, _: Option<u32>) -> RpcResult<Vec<HistoryEntry>> {
        Err(no())
    }
    async fn send_transaction(&self, _: String) -> RpcResult<Submitted> {
        Err(no())
    }
    async fn attachment(&self, _: String) -> RpcResult<AttachmentStatus> {
        Err(no())
    }
    async fn attachments(&self) -> RpcResult<Vec<String>> {
        Err(no())
    }
    async fn attach_put(&self, _: String, _: Option<String>) -> RpcResult<AttachmentPut> {
        Err(no())
    }
    async fn attach_get(
        &self,
        _: String,
        _: Option<Vec<String>>,
        _: Option<u32>,
    ) -> RpcResult<AttachmentGot> {
        Err(no())
    }
    async fn attach_export(&self, _: String, _: String) -> RpcResult<AttachmentExported> {
        Err(no())
    }
}

/// A genesis state funding `holder` with `amount`, in `store`.
fn genesis(store: &MemoryBlockstore, holder: Address, amount: u64) -> cid::Cid {
    let (params, _) = tau_node::local_devnet(5);
    let creator = Keypair::from_bytes(&[9; 32]).unwrap();
    let blocks = tau_node::GenesisBlocks::new(
        &Genesis::new(1_000).allocate(holder, amount),
        &creator,
        &params,
    )
    .unwrap();
    for (cid, data) in &blocks.blocks {
        store.put_keyed(cid, data).unwrap();
    }
    blocks.root
}

async fn wallet_balance_against(
    lie: Lie,
    holder: Address,
    trust_genuine_root: bool,
) -> std::process::Output {
    let store = MemoryBlockstore::new();
    let root = genesis(&store, holder, 5_000);
    let other_root = genesis(&store, holder, 9_000);
    let (params, _) = tau_node::local_devnet(5);
    let chain = Arc::new(Executor::new(store, params).unwrap());
    let server = jsonrpsee::server::Server::builder()
        .build("127.0.0.1:0")
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let handle = server.start(
        FakeNode {
            lie,
            root,
            other_root,
            chain,
        }
        .into_rpc(),
    );
    let mut args = vec![
        "wallet".to_string(),
        "balance".into(),
        "--address".into(),
        holder.to_string(),
        "--rpc".into(),
        format!("http://{addr}"),
    ];
    if trust_genuine_root {
        args.extend(["--trust-root".to_string(), root.to_string()]);
    }
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_tau"))
            .args(&args)
            .env_remove("TAU_RPC")
            .env_remove("TAU_WALLET")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    handle.stop().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallet_shows_proven_balances_and_refuses_lies() {
    let holder = Keypair::from_bytes(&[4; 32]).unwrap().address();

    let honest = wallet_balance_against(Lie::None, holder, false).await;
    let stdout = String::from_utf8_lossy(&honest.stdout);
    assert!(
        honest.status.success(),
        "{}",
        String::from_utf8_lossy(&honest.stderr)
    );
    assert!(stdout.contains("balance=5000"), "{stdout}");
    assert!(stdout.contains("proof=verified"), "{stdout}");
    assert!(stdout.contains("root_from=node"), "{stdout}");

    // A forged safety point with honest proofs of it: without a root of its
    // own the wallet can only say whose word the root is...
    let forged = wallet_balance_against(Lie::ForgedSafety, holder, false).await;
    let stdout = String::from_utf8_lossy(&forged.stdout);
    assert!(
        stdout.contains("balance=9000") && stdout.contains("root_from=node"),
        "{stdout}"
    );
    // ...and with one it refuses.
    let refused = wallet_balance_against(Lie::ForgedSafety, holder, true).await;
    assert_eq!(refused.status.code(), Some(1));
    // The honest node agrees with the trusted root.
    let trusted = wallet_balance_against(Lie::None, holder, true).await;
    let stdout = String::from_utf8_lossy(&trusted.stdout);
    assert!(
        stdout.contains("balance=5000") && stdout.contains("root_from=user"),
        "{stdout}"
    );

    for lie in [Lie::Inflated, Lie::OtherRoot] {
        let refused = wallet_balance_against(lie, holder, false).await;
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(1), "{stderr}");
        assert!(refused.stdout.is_empty(), "nothing shown");
        assert!(
            stderr.starts_with("error: the node's answer did not verify: proof refused"),
            "{stderr}"
        );
        assert!(!stderr.contains("BadProof"), "no Debug dump: {stderr}");
    }
}
