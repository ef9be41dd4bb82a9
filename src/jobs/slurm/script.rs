//! What is submitted: the batch script and the `sbatch` command line. Both come from the
//! administrator's cluster configuration and FlowCFD's own paths, never from a user, and
//! every word is quoted.
use super::shell::quote;
use crate::config::ClusterConfig;

/// The `sbatch` words for the job in `dir` (its script `dir/job.sh`): `cores` tasks, the
/// cluster's partition, account and QoS where set, and its time limit or else the
/// wall-time limit `max_wall_s` in minutes, rounded up.
pub(super) fn sbatch_words(c: &ClusterConfig, name: &str, cores: u32, dir: &str, max_wall_s: u64) -> Vec<String> {
    let mut words: Vec<String> = vec!["sbatch".into(), "--parsable".into()];
    words.push(format!("--job-name={name}"));
    words.push(format!("--ntasks={cores}"));
    // Relative to --chdir.
    words.push("--output=run.log".to_string());
    words.push(format!("--chdir={dir}"));
    for (flag, v) in [("partition", &c.partition), ("account", &c.account), ("qos", &c.qos)] {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            words.push(format!("--{flag}={v}"));
        }
    }
    words.push(format!("--time={}", c.time_limit_min.map_or(max_wall_s.div_ceil(60), u64::from)));
    words.push(format!("{dir}/job.sh"));
    words
}

/// The cluster's settings for one job: the account its plan charges (`billing.plans`
/// `slurm_account`), when it names one, instead of the cluster's own `account`, so that the
/// site's Slurm accounting agrees with FlowCFD's.
pub(super) fn charging(c: &ClusterConfig, plan_account: Option<&str>) -> ClusterConfig {
    let mut c = c.clone();
    if let Some(a) = plan_account.filter(|a| !a.is_empty()) {
        c.account = Some(a.to_string());
    }
    c
}

/// The batch script: the cluster's preamble (admin configuration: `module load …`, env
/// lines), then the run, then the exit-code marker. Paths are quoted; nothing in it comes
/// from a user.
pub fn batch_script(c: &ClusterConfig, dir: &str, flowcfd: &str) -> String {
    let mut s = String::from("#!/bin/bash\n# Written by FlowCFD.\n");
    for line in &c.preamble {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!("cd {} || exit 1\n", quote(dir)));
    // Which Slurm job this directory belongs to, for a worker that submitted it and died
    // before recording the id (Slurm forgets finished jobs after a while).
    s.push_str("echo \"$SLURM_JOB_ID\" > slurm_job_id\n");
    s.push_str(&format!("{} run case.json --out out --force --stream-log\n", quote(flowcfd)));
    s.push_str("code=$?\necho $code > exit_code.part && mv exit_code.part exit_code\nexit $code\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plans_slurm_account_replaces_the_clusters() {
        let c = ClusterConfig { account: Some("lab".into()), ..Default::default() };
        let w = sbatch_words(&charging(&c, Some("cfd-group")), "n", 1, "/d", 60);
        assert!(w.contains(&"--account=cfd-group".to_string()) && !w.contains(&"--account=lab".to_string()), "{w:?}");
        let w = sbatch_words(&charging(&c, None), "n", 1, "/d", 60);
        assert!(w.contains(&"--account=lab".to_string()), "{w:?}");
        let w = sbatch_words(&charging(&c, Some("")), "n", 1, "/d", 60);
        assert!(w.contains(&"--account=lab".to_string()), "{w:?}");
    }

    #[test]
    fn sbatch_gets_the_set_options_and_a_rounded_up_time_limit() {
        let c = ClusterConfig { partition: Some("cpu".into()), qos: Some(String::new()), ..Default::default() };
        let w = sbatch_words(&c, "flowcfd-ab", 4, "/scratch/j", 61);
        assert!(w.contains(&"--partition=cpu".to_string()) && !w.iter().any(|x| x.starts_with("--qos")), "{w:?}");
        assert!(w.contains(&"--time=2".to_string()), "{w:?}");
        assert_eq!(w.last().map(String::as_str), Some("/scratch/j/job.sh"));
        let c = ClusterConfig { time_limit_min: Some(30), ..c };
        assert!(sbatch_words(&c, "n", 1, "/d", 86400).contains(&"--time=30".to_string()));
    }

    #[test]
    fn the_batch_script_quotes_its_paths() {
        let s = batch_script(&ClusterConfig::default(), "/home/a b/j", "/opt/flowcfd");
        assert!(s.contains("cd '/home/a b/j' || exit 1\n"), "{s}");
        assert!(s.ends_with("exit $code\n"), "{s}");
    }
}
