//! `[billing]`: the plans (data, not code: defaults in the binary, replaced by
//! `[[billing.plans]]`), the plan of a new account, and Stripe for the hosted instance.
//!
//! Without a `[billing]` section every account is on `unlimited`: usage is metered and
//! shown, and nothing is enforced beyond the executors' own limits.
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One plan and its limits. `None` means "no limit" (the executor's own, for cores).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Plan {
    /// The key used everywhere (`free`, `engineer`, `team`, `unlimited`, or a site's own).
    pub name: String,
    /// What the pages call it.
    pub title: String,
    /// Price of a subscription, US dollars per month (0 for free plans and allocations).
    pub price_usd: f64,
    /// Core-hours included per plan period; absent: unlimited.
    pub included_core_hours: Option<f64>,
    /// Months in a plan period (1; 3, 4, 6 or 12 for a term or a year), aligned to January.
    pub period_months: u32,
    pub max_cores_per_job: Option<u32>,
    /// Jobs that may be queued or running at once.
    pub concurrent_jobs: Option<u32>,
    /// Largest mesh a job may ask for (target cells).
    pub max_cells: Option<u64>,
    /// Members an org on this plan may have before extra seats are charged (or refused,
    /// without `extra_seat_usd`).
    pub seats: Option<u32>,
    /// Price of each seat past `seats`, US dollars per month.
    pub extra_seat_usd: Option<f64>,
    /// Price of each core-hour past the included ones; absent: jobs stop at the quota.
    pub overage_usd_per_core_hour: Option<f64>,
    /// The included core-hours are one pool for the whole org (team plans).
    pub pooled: bool,
    /// The Slurm `--account` jobs under this plan charge, so that the site's accounting
    /// agrees with FlowCFD's.
    pub slurm_account: Option<String>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            name: String::new(),
            title: String::new(),
            price_usd: 0.0,
            included_core_hours: None,
            period_months: 1,
            max_cores_per_job: None,
            concurrent_jobs: None,
            max_cells: None,
            seats: None,
            extra_seat_usd: None,
            overage_usd_per_core_hour: None,
            pooled: false,
            slurm_account: None,
        }
    }
}

impl Plan {
    /// Whether usage past the included core-hours is billed (else jobs stop at the quota).
    pub fn has_overage(&self) -> bool {
        self.overage_usd_per_core_hour.is_some()
    }
    /// The title, or the name when it has none.
    pub fn title_or_name(&self) -> &str {
        if self.title.is_empty() {
            &self.name
        } else {
            &self.title
        }
    }
}

/// The plans that ship in the binary (the issue's table).
pub fn default_plans() -> Vec<Plan> {
    vec![
        Plan {
            name: "free".into(),
            title: "Free".into(),
            included_core_hours: Some(20.0),
            max_cores_per_job: Some(4),
            concurrent_jobs: Some(1),
            max_cells: Some(2_000_000),
            seats: Some(1),
            ..Plan::default()
        },
        Plan {
            name: "engineer".into(),
            title: "Engineer".into(),
            price_usd: 199.0,
            included_core_hours: Some(500.0),
            max_cores_per_job: Some(64),
            concurrent_jobs: Some(4),
            max_cells: Some(50_000_000),
            seats: Some(1),
            overage_usd_per_core_hour: Some(0.12),
            ..Plan::default()
        },
        Plan {
            name: "team".into(),
            title: "Team".into(),
            price_usd: 699.0,
            included_core_hours: Some(2000.0),
            max_cores_per_job: Some(256),
            concurrent_jobs: Some(10),
            max_cells: Some(200_000_000),
            seats: Some(5),
            extra_seat_usd: Some(99.0),
            overage_usd_per_core_hour: Some(0.10),
            pooled: true,
            ..Plan::default()
        },
        Plan { name: "unlimited".into(), title: "Unlimited".into(), ..Plan::default() },
    ]
}

/// `[billing.stripe]`: the hosted instance's Stripe account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StripeConfig {
    /// `sk_…` (or `FLOWCFD_BILLING__STRIPE__SECRET_KEY`).
    pub secret_key: String,
    /// `whsec_…`: signs the webhooks Stripe sends to `/api/billing/webhook`.
    pub webhook_secret: String,
    pub api_base: String,
    /// Seconds one call to Stripe may take.
    pub timeout_s: u64,
    /// Price ids by plan name, and `PLAN_overage` for the metered overage price.
    pub prices: BTreeMap<String, String>,
}

impl StripeConfig {
    /// The plan a subscription's price stands for (overage prices stand for none).
    pub fn plan_of_price(&self, price: &str) -> Option<&str> {
        self.prices.iter().find(|(k, v)| *v == price && !k.ends_with("_overage")).map(|(k, _)| k.as_str())
    }
}

impl Default for StripeConfig {
    fn default() -> Self {
        StripeConfig {
            secret_key: String::new(),
            webhook_secret: String::new(),
            api_base: "https://api.stripe.com".into(),
            timeout_s: 20,
            prices: BTreeMap::new(),
        }
    }
}

/// `[billing]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BillingConfig {
    /// `none` (meter and enforce, bill nobody) or `stripe`.
    pub provider: String,
    /// The plan of a new account (and of one whose subscription ended).
    pub default_plan: String,
    /// Days a subscription may stay unpaid before the account returns to `default_plan`.
    pub grace_days: u32,
    /// Seconds between two runs of the billing task (overage reports to Stripe, the
    /// grace-period sweep).
    pub report_interval_s: u64,
    pub stripe: StripeConfig,
    /// Replaces the default plans when not empty.
    pub plans: Vec<Plan>,
}

impl Default for BillingConfig {
    fn default() -> Self {
        BillingConfig {
            provider: "none".into(),
            default_plan: "free".into(),
            grace_days: 7,
            report_interval_s: 60,
            stripe: StripeConfig::default(),
            plans: Vec::new(),
        }
    }
}

impl BillingConfig {
    /// The section in effect when the file has none: plans shipped, everyone unlimited.
    pub fn absent() -> Self {
        BillingConfig { default_plan: "unlimited".into(), ..BillingConfig::default() }
    }

    /// The plans in effect: the configured ones, or the defaults.
    pub fn plans(&self) -> Vec<Plan> {
        if self.plans.is_empty() {
            default_plans()
        } else {
            self.plans.clone()
        }
    }

    /// A plan by name.
    pub fn plan(&self, name: &str) -> Option<Plan> {
        if self.plans.is_empty() {
            default_plans().into_iter().find(|p| p.name == name)
        } else {
            self.plans.iter().find(|p| p.name == name).cloned()
        }
    }

    /// The default plan (validated to exist).
    pub fn default_plan(&self) -> Plan {
        self.plan(&self.default_plan).unwrap_or_else(|| Plan { name: "unlimited".into(), ..Plan::default() })
    }

    /// Whether Stripe bills this instance.
    pub fn stripe_enabled(&self) -> bool {
        self.provider == "stripe"
    }

    /// What cannot work, with the key to change.
    pub fn problems(&self) -> Option<String> {
        if !matches!(self.provider.as_str(), "none" | "stripe") {
            return Some(format!("billing.provider = {:?}: expected \"none\" or \"stripe\"", self.provider));
        }
        let plans = self.plans();
        let mut seen = std::collections::HashSet::new();
        for p in &plans {
            let word = !p.name.is_empty() && p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !word {
                return Some(format!("billing.plans name {:?}: use letters, digits, - and _", p.name));
            }
            if !seen.insert(p.name.as_str()) {
                return Some(format!("billing.plans: the name {:?} is used twice", p.name));
            }
            if !matches!(p.period_months, 1 | 2 | 3 | 4 | 6 | 12) {
                return Some(format!(
                    "billing.plans {:?}: period_months = {} must divide a year (1, 2, 3, 4, 6 or 12)",
                    p.name, p.period_months
                ));
            }
            let negative = [Some(p.price_usd), p.included_core_hours, p.extra_seat_usd, p.overage_usd_per_core_hour]
                .into_iter()
                .flatten()
                .any(|x| !x.is_finite() || x < 0.0);
            if negative {
                return Some(format!("billing.plans {:?}: prices and core-hours must be 0 or more", p.name));
            }
            if p.max_cores_per_job == Some(0) || p.concurrent_jobs == Some(0) {
                return Some(format!(
                    "billing.plans {:?}: max_cores_per_job and concurrent_jobs must be at least 1 (leave them out \
                     for no limit)",
                    p.name
                ));
            }
        }
        if !seen.contains(self.default_plan.as_str()) {
            let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
            return Some(format!(
                "billing.default_plan = {:?} is not a plan; the plans are: {}",
                self.default_plan,
                names.join(", ")
            ));
        }
        if self.stripe_enabled() && (self.stripe.secret_key.is_empty() || self.stripe.webhook_secret.is_empty()) {
            return Some(
                "billing.provider = \"stripe\" needs billing.stripe.secret_key (or FLOWCFD_BILLING__STRIPE__SECRET_KEY) \
                 and billing.stripe.webhook_secret"
                    .into(),
            );
        }
        if self.report_interval_s == 0 || self.stripe.timeout_s == 0 {
            return Some("billing.report_interval_s and billing.stripe.timeout_s must be at least 1".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_issue_table_and_validate() {
        let b = BillingConfig::default();
        assert_eq!(b.problems(), None);
        let free = b.plan("free").unwrap();
        assert_eq!(
            (free.included_core_hours, free.max_cores_per_job, free.concurrent_jobs),
            (Some(20.0), Some(4), Some(1))
        );
        assert!(!free.has_overage());
        let team = b.plan("team").unwrap();
        assert!(team.pooled && team.seats == Some(5) && team.overage_usd_per_core_hour == Some(0.10));
        assert_eq!(BillingConfig::absent().default_plan().name, "unlimited");
        assert_eq!(BillingConfig::absent().default_plan().included_core_hours, None);
    }

    #[test]
    fn configured_plans_replace_the_defaults_and_bad_ones_are_named() {
        let campus =
            Plan { name: "cfd-group".into(), included_core_hours: Some(10_000.0), period_months: 4, ..Plan::default() };
        let b = BillingConfig { plans: vec![campus], default_plan: "cfd-group".into(), ..BillingConfig::default() };
        assert_eq!(b.problems(), None);
        assert!(b.plan("free").is_none());
        let b = BillingConfig { default_plan: "gold".into(), ..BillingConfig::default() };
        assert!(b.problems().unwrap().contains("free, engineer, team, unlimited"));
        let b = BillingConfig { provider: "stripe".into(), ..BillingConfig::default() };
        assert!(b.problems().unwrap().contains("secret_key"));
        let bad = Plan { name: "x".into(), period_months: 5, ..Plan::default() };
        let b = BillingConfig { plans: vec![bad], default_plan: "x".into(), ..BillingConfig::default() };
        assert!(b.problems().unwrap().contains("period_months"));
    }

    #[test]
    fn stripe_keys_come_from_the_environment_masked_and_prices_name_plans() {
        use crate::config::{Config, Overrides};
        let env =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect::<Vec<_>>();
        let c = Config::load_from(
            &Overrides::default(),
            env(&[
                ("FLOWCFD_BILLING__PROVIDER", "stripe"),
                ("FLOWCFD_BILLING__STRIPE__SECRET_KEY", "sk_test_abc"),
                ("FLOWCFD_BILLING__STRIPE__WEBHOOK_SECRET", "whsec_xyz"),
                ("FLOWCFD_BILLING__STRIPE__PRICES__ENGINEER", "price_eng"),
                ("FLOWCFD_BILLING__STRIPE__PRICES__ENGINEER_OVERAGE", "price_eng_over"),
            ]),
        )
        .unwrap();
        let b = c.billing();
        assert_eq!(b.stripe.plan_of_price("price_eng"), Some("engineer"));
        assert_eq!(b.stripe.plan_of_price("price_eng_over"), None, "an overage price is no plan");
        assert_eq!((b.report_interval_s, b.stripe.timeout_s), (60, 20));
        let shown = c.show();
        assert!(!shown.contains("sk_test_abc") && !shown.contains("whsec_xyz"), "{shown}");
        assert!(shown.contains("price_eng"), "{shown}");
        let e = Config::load_from(
            &Overrides::default(),
            env(&[("FLOWCFD_BILLING__PROVIDER", "stripe"), ("FLOWCFD_BILLING__STRIPE__SECRET_KEY", "sk_test_abc")]),
        )
        .unwrap_err();
        assert!(e.to_string().contains("webhook_secret"), "{e}");
    }
}
