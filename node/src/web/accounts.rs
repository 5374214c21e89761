//! The node's accounts live in its store's meta tree: local to the node (never in a revision,
//! so never synced), written durably, and copied with the data directory by any backup.

use baoxue_store::Store;
use baoxue_web::accounts::{AccountStore, Accounts};
use baoxue_web::WebError;

/// Meta key of the accounts.
pub const META_ACCOUNTS: &str = "web_accounts";

pub struct StoreAccounts(pub Store);

impl AccountStore for StoreAccounts {
    fn load(&self) -> Result<Accounts, WebError> {
        Ok(self.0.get_meta(META_ACCOUNTS).map_err(|e| WebError::Internal(e.to_string()))?.unwrap_or_default())
    }

    fn save(&self, accounts: &Accounts) -> Result<(), WebError> {
        self.0.put_meta(META_ACCOUNTS, accounts).map_err(|e| WebError::Internal(e.to_string()))?;
        self.0.flush().map_err(|e| WebError::Internal(e.to_string()))
    }
}
