//! The time-series recipe of Wang et al. / dl-4-tsc: the plateau schedule
//! with Keras's counting against Keras itself
//! (tests/fixtures/keras_plateau.json, from gen_keras_plateau.py), the step
//! budget sized to the training set, and the FCN on bundled UCR sets.

use serde_json::Value;
use striate::optim::LrSchedule;
use striate::optim::schedule::{Direction, Watch};

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keras_plateau.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// Every epoch's rate equals Keras's `ReduceLROnPlateau` (its optimizer
/// keeps the rate in f32, hence the tolerance).
#[test]
fn plateau_with_keras_rule_matches_keras_trace() {
    let fx = fixture();
    for (i, case) in fx["cases"].as_array().unwrap().iter().enumerate() {
        let mut sched = LrSchedule::keras_plateau(
            case["monitor"].as_str().unwrap(),
            case["factor"].as_f64().unwrap(),
            case["patience"].as_u64().unwrap() as usize,
            case["min_lr"].as_f64().unwrap(),
        );
        if let LrSchedule::Plateau {
            min_delta, cooldown, ..
        } = &mut sched
        {
            *min_delta = case["min_delta"].as_f64().unwrap();
            *cooldown = case["cooldown"].as_u64().unwrap() as usize;
        }
        let lr0 = case["lr0"].as_f64().unwrap();
        let expected = floats(&case["lrs"]);
        let mut watch = Watch::default();
        let mut lr = lr0;
        let mut reductions = 0;
        for (epoch, (&v, &want)) in floats(&case["values"]).iter().zip(&expected).enumerate() {
            let next = sched.lr_after(lr0, lr, epoch + 1, Some(v), &mut watch);
            reductions += usize::from(next < lr);
            lr = next;
            let rel = (lr - want).abs() / want;
            assert!(
                rel < 1e-6,
                "case {i} epoch {}: striate {lr:e}, Keras {want:e}",
                epoch + 1
            );
        }
        assert!(
            reductions >= 2,
            "case {i} reduces only {reductions} times: it tests little"
        );
    }
}

/// PyTorch's counting reduces one epoch later than Keras's for the same
/// patience (`num_bad_epochs > patience`).
#[test]
fn plateau_torch_rule_waits_one_epoch_longer_than_keras() {
    let keras = LrSchedule::keras_plateau("loss", 0.5, 3, 0.0);
    let LrSchedule::Plateau { monitor, .. } = &keras else {
        unreachable!()
    };
    let torch = LrSchedule::Plateau {
        monitor: monitor.clone(),
        factor: 0.5,
        patience: 3,
        min_lr: 0.0,
        min_delta: 1e-4,
        cooldown: 0,
        rule: striate::optim::PlateauRule::Torch,
    };
    let first_cut = |s: &LrSchedule| {
        let mut w = Watch::default();
        (1..20)
            .find(|&e| s.lr_after(1.0, 1.0, e, Some(1.0), &mut w) < 1.0)
            .unwrap()
    };
    assert_eq!(first_cut(&keras), 4);
    assert_eq!(first_cut(&torch), 5);
    assert_eq!(Direction::Auto.resolve("loss"), Direction::Min);
}
