//! `[server]` settings that protect hookd from hostile traffic: connection lifetimes and caps,
//! shares of the in-flight budget, the minimum body rate, rate limits, trusted proxies and the
//! PROXY protocol, replay protection, the size of a webhook definition. Their defaults and
//! checks live here; the fields are on [`ServerConfig`].

use ipnet::IpNet;

use crate::client_addr::parse_cidr;

use super::{invalid, ConfigError, ServerConfig};

impl ServerConfig {
    /// `trusted_proxies` parsed (validated when the configuration was loaded).
    pub fn trusted_proxy_nets(&self) -> Vec<IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|s| parse_cidr(s).ok())
            .collect()
    }

    pub(super) fn validate_limits(&self) -> Result<(), ConfigError> {
        if self.idle_timeout_ms < 1000 {
            return Err(invalid("server.idle_timeout_ms", "must be at least 1000"));
        }
        if self.header_read_timeout_ms < 100 {
            return Err(invalid(
                "server.header_read_timeout_ms",
                "must be at least 100",
            ));
        }
        if self.max_connections_per_client == 0 {
            return Err(invalid(
                "server.max_connections_per_client",
                "must be greater than 0",
            ));
        }
        if self.admin_max_connections == 0 {
            return Err(invalid(
                "server.admin_max_connections",
                "must be greater than 0",
            ));
        }
        for (field, v) in [
            ("server.webhook_share_percent", self.webhook_share_percent),
            ("server.client_share_percent", self.client_share_percent),
            (
                "server.connection_share_percent",
                self.connection_share_percent,
            ),
        ] {
            if !(1..=100).contains(&v) {
                return Err(invalid(field, "must be between 1 and 100"));
            }
        }
        if self.max_tracked_clients < 1000 {
            return Err(invalid(
                "server.max_tracked_clients",
                "must be at least 1000",
            ));
        }
        for (i, p) in self.trusted_proxies.iter().enumerate() {
            parse_cidr(p).map_err(|m| invalid(format!("server.trusted_proxies[{i}]"), m))?;
        }
        if self.replay_window_secs > 86_400 {
            return Err(invalid(
                "server.replay_window_secs",
                "must be at most 86400 (one day)",
            ));
        }
        if self.replay_window_secs > 0 && self.replay_max_entries == 0 {
            return Err(invalid(
                "server.replay_max_entries",
                "must be greater than 0 while replay_window_secs is set",
            ));
        }
        if !(4096..=900_000).contains(&self.max_webhook_config_bytes) {
            return Err(invalid(
                "server.max_webhook_config_bytes",
                "must be between 4096 and 900000 (a definition is one record in the config topic)",
            ));
        }
        Ok(())
    }
}

pub(super) fn d_idle_timeout() -> u64 {
    60_000
}
pub(super) fn d_max_conns_per_client() -> usize {
    256
}
pub(super) fn d_admin_max_conns() -> usize {
    64
}
pub(super) fn d_min_body_rate() -> u64 {
    8 * 1024
}
pub(super) fn d_min_body_rate_grace() -> u64 {
    5_000
}
pub(super) fn d_webhook_share() -> u8 {
    50
}
pub(super) fn d_client_share() -> u8 {
    25
}
pub(super) fn d_connection_share() -> u8 {
    10
}
pub(super) fn d_max_tracked_clients() -> usize {
    100_000
}
pub(super) fn d_replay_window() -> u64 {
    600
}
pub(super) fn d_replay_max() -> usize {
    100_000
}
pub(super) fn d_max_webhook_config() -> usize {
    256 * 1024
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const MIN: &str = "[server]\nadmin_token = \"secret-token\"\n";

    fn cfg(extra: &str) -> Result<Config, ConfigError> {
        Config::from_toml(&format!("{MIN}{extra}\n"))
    }

    #[test]
    fn defaults() {
        let s = cfg("").unwrap().server;
        assert_eq!(s.idle_timeout_ms, 60_000);
        assert_eq!(s.max_connections_per_client, 256);
        assert_eq!(s.replay_window_secs, 600);
        assert_eq!(s.client_rate_limit_per_sec, 0);
        assert!(!s.proxy_protocol);
        assert!(s.trusted_proxy_nets().is_empty());
    }

    #[test]
    fn trusted_proxies_parse_and_errors_name_the_entry() {
        let s = cfg("trusted_proxies = [\"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::/32\"]")
            .unwrap()
            .server;
        let nets = s.trusted_proxy_nets();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"192.0.2.7".parse::<std::net::IpAddr>().unwrap()));
        let e = cfg("trusted_proxies = [\"10.0.0.0/8\", \"nope\"]").unwrap_err();
        assert!(e.to_string().contains("server.trusted_proxies[1]"), "{e}");
    }

    #[test]
    fn errors_name_the_field() {
        for (extra, field) in [
            ("webhook_share_percent = 0", "server.webhook_share_percent"),
            ("client_share_percent = 101", "server.client_share_percent"),
            ("idle_timeout_ms = 5", "server.idle_timeout_ms"),
            (
                "max_connections_per_client = 0",
                "server.max_connections_per_client",
            ),
            (
                "max_webhook_config_bytes = 2000000",
                "server.max_webhook_config_bytes",
            ),
            ("replay_max_entries = 0", "server.replay_max_entries"),
        ] {
            let e = cfg(extra).unwrap_err();
            assert!(e.to_string().contains(field), "{extra}: {e}");
        }
    }
}
