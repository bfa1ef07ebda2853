//! A linear experiment from a spec, end to end: the record it writes reads back typed.

use std::path::Path;

use textclf_eval::Metrics;
use textclf_experiment::{
    run, ClassWeights, Columns, DataSource, DataSpec, EvalSpec, ExperimentSpec, ModelSpec, Silent,
    TrainEnv,
};
use textclf_linear::{LinearKind, LinearParams};
use textclf_runs::RunBody;

fn toy_csv(path: &Path, rows: usize, offset: usize) {
    let mut s = String::from("id,text,label\n");
    for i in 0..rows {
        let (text, label) = if i % 2 == 0 {
            ("a wonderful lovely and great film", "pos")
        } else {
            ("an awful boring and dreadful film", "neg")
        };
        s.push_str(&format!(
            "r{},{text} number {},{label}\n",
            i + offset,
            i % 7
        ));
    }
    std::fs::write(path, s).unwrap();
}

fn spec(dir: &Path, valid: bool, weights: ClassWeights) -> ExperimentSpec {
    toy_csv(&dir.join("train.csv"), 40, 0);
    toy_csv(&dir.join("valid.csv"), 10, 100);
    toy_csv(&dir.join("test.csv"), 12, 200);
    ExperimentSpec {
        format: ExperimentSpec::FORMAT,
        data: DataSpec {
            source: DataSource::Files {
                train: dir.join("train.csv"),
                valid: valid.then(|| dir.join("valid.csv")),
                test: dir.join("test.csv"),
            },
            columns: Columns::default(),
            seed: 3,
            subset_frac: None,
            per_class: None,
            valid_frac: textclf_experiment::default_valid_frac(),
        },
        model: ModelSpec::Linear {
            params: LinearParams::new(LinearKind::Lr),
        },
        eval: EvalSpec { bootstrap: 20 },
        class_weights: weights,
        save_model: false,
    }
}

#[test]
fn a_linear_spec_runs_and_writes_a_typed_record() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let s = spec(t.path(), true, ClassWeights::Balanced);
    let done = run(&s, &out, &out, &Silent, &TrainEnv::plain()).unwrap();
    assert_eq!(done.report.n(), 12);
    let m = Metrics::read(&out).unwrap();
    let RunBody::Baseline(b) = &m.run else {
        panic!("not a baseline record")
    };
    assert_eq!(b.data.seed, 3);
    assert_eq!(b.data.test.rows, 12);
    let Some(textclf_runs::RecordedParams::Single(params)) = &b.model.params else {
        panic!(
            "a single-label linear model's settings: {:?}",
            b.model.params
        )
    };
    assert_eq!(params.class_weights, textclf_linear::ClassWeights::Balanced);
    assert!(out.join("valid_predictions.csv").is_file());
    assert!(!out.join("model").exists(), "save_model = false");
}

#[test]
fn without_a_validation_split_c_is_chosen_on_a_holdout_and_recorded_so() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    run(
        &spec(t.path(), false, ClassWeights::None),
        &out,
        &out,
        &Silent,
        &TrainEnv::plain(),
    )
    .unwrap();
    let m = Metrics::read(&out).unwrap();
    assert_eq!(m.valid().and_then(|v| v.split.as_deref()), Some("holdout"));
    assert!(!out.join("valid_predictions.csv").exists());
}

#[test]
fn class_weights_of_the_wrong_count_are_refused_after_reading() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("run");
    let s = spec(t.path(), true, ClassWeights::Explicit(vec![1.0, 2.0, 3.0]));
    let e = run(&s, &out, &out, &Silent, &TrainEnv::plain())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("3 weights but the data has 2 classes"), "{e}");
}
