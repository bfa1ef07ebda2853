//! One chart: its name, title, caption and SVG; what every chart module makes.

/// File stems of every chart this module can make, in report order.
pub const PLOT_NAMES: [&str; 9] = [
    "learning_curves",
    "heatmap_max_len_lr",
    "train_fraction",
    "accuracy_vs_time",
    "per_class_f1",
    "confusion",
    "per_label_f1",
    "label_cooccurrence",
    "regression_scatter",
];

/// One chart.
#[derive(Clone, Debug)]
pub struct Plot {
    /// File stem (`plots/<name>.svg`), one of [`PLOT_NAMES`].
    pub name: &'static str,
    /// Headline, also drawn at the top of the chart.
    pub title: String,
    /// What it shows and how it was made (which runs were kept), for a caption.
    pub caption: String,
    /// The chart as a standalone SVG document.
    pub svg: String,
}
