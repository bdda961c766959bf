"""What the library's options accept, and the measured grow-and-prune defaults: constants
with no imports, so the CLI shows and checks them (``--help``, a misspelt choice) before
torch is imported (cf. ``cluster.limits``).

Each name is public in the module that implements it too (``synth.masked.CRITERIA`` is this
``CRITERIA``); a new choice is added here and implemented there.
"""

# Pruning criteria (synth.masked.prune_connections): global magnitude, per-layer magnitude,
# LAMP scores.
CRITERIA = ("magnitude", "layerwise", "lamp")
IMPORTANCES = ("taylor", "magnitude", "latency")           # synth.dfprune
CONTINUAL_METHODS = ("finetune", "lwf", "deepinversion")   # synth.continual.METHODS
REDUCERS = ("none", "pca", "kernel_pca", "gaussian_rp", "sparse_rp", "factor_analysis")  # synth.scann
SCHEMES = ("A", "B", "C")                                   # synth.scann
OPTIMIZERS = ("sgd", "adam")                                # synth.train
# The prefixes of ``prefix:<path>`` data sets (synth.data_registry checks that they are the
# registered ones): a Parquet set, a .ts series file, a text file, CIFAR-10's batches, a
# user's own CSV table or folder of images.
DATASET_PREFIXES = ("parquet", "ts", "text", "cifar10", "csv", "images")
ROUNDINGS = ("stochastic", "nearest")                       # synth.quant
SCALINGS = ("fixed", "per_tensor")     # synth.quant: gradient_scaling and state_scaling

# Recurrent steps per window of ``nnsynth diabdeep`` when none are asked for (T when the
# window is shorter): synth.diabdeep.DiabDeepConfig.steps = None.
DIABDEEP_STEPS = 50
# The baselines ``nnsynth diabdeep`` trains beside the DiabNNs on the same split
# (synth.diabdeep.BASELINES; DiabDeepConfig.baselines and --baselines default to all of them)
DIABDEEP_BASELINES = ("mlp", "lstm1", "lstm2", "hlstm_dense", "forest")

# The default of ``nnsynth grow-prune`` (benchmarks/results/grow_prune_defaults.md): LAMP
# (layer-adaptive magnitude) pruning of 20% of the active connections per step, dead weights
# removed after each step, 3 retraining epochs by KD from the dense start (T 2, alpha 0.5,
# inputs shifted by <= 2 px; set up by the workflow).  Global magnitude (the 131x recipe of
# grow_prune_lenet300_100_fresh.md) dropped LeNet-5 from 97.0% to 90.8% validation accuracy
# at the first step, where LAMP kept 97.5%.  17 steps: where the measured LeNet-300-100 curves stay within 0.5 pt of the
# dense model on every seed (grow_prune_lenet300_100*.md); the floor (validation accuracy
# 0.5 pt under the start, as a fraction) undoes a step that falls below it.
# (synth.grow_prune.RECIPE; GrowPruneSchedule.recipe() applies it.)
# retrain_min_steps: each retraining makes at least 60 steps (digits' 3 epochs of 64 make 63,
# mnist5k's 171: unchanged).  3 epochs of iris were 6 steps: its pruned model lost 3.3 pt of
# its dense 0.967 test (0.933 at 200x); at 60 steps 0.967 at 150x; wine 0.972 -> 1.0 (80x ->
# 83x); an 11-class x 20-row CSV 0.932 at 14.5x -> 0.955 (its dense accuracy) at 32x.
RECIPE = dict(prune_steps=17, prune_fraction=0.2, criterion="lamp", remove_dead=True,
              retrain_epochs=3, retrain_min_steps=60, batch_size=64, max_accuracy_drop=0.005,
              growth_rounds=0)

# Optimizer-step floors (synth.train.TrainConfig.min_steps, bounded by MAX_MIN_STEPS): the
# epochs of a training are raised where their passes over a small training split make fewer
# steps.  MIN_STEPS is the CLI's default for train and grow-prune's dense training: 15 epochs
# of iris' 108 training inputs were 60 steps of 32, test 0.80; 500 steps 0.967 (b83989d).
MIN_STEPS = 500
MAX_MIN_STEPS = 1_000_000

# GrowPruneSchedule's growth defaults (synth.grow_prune), shown by ``nnsynth grow-prune --help``:
# start dense (a seed density of 1), and each growth round adds half as many connections as
# are active (NeST's gradient-based growth, arXiv 1711.02017).
SEED_DENSITY = 1.0
GROWTH_RATIO = 0.5

# SECRET: the feature-space classifiers of ``nnsynth secret`` (synth.secret_eval.BASES) and
# the label vectors (synth.labels.LABEL_VECTOR_SOURCES: GloVe's meaning, and two controls
# without it), with the defaults of the command and the library.
SECRET_BASES = ("lr", "rf", "svm", "mlp", "xgboost")
SECRET_BASE = "lr"
LABEL_VECTOR_SOURCES = ("glove", "random", "shuffled")
LABEL_VECTORS = "glove"


# The per-batch iteration cap of prune's and continual's per-pixel inversion when none is given
# (--iterations): the one their defaults were measured with (benchmarks/dfprune.py inverts with
# settings_for(..., iterations=200) for benchmarks/results/dfprune_defaults.md: LeNet-5-BN on
# mnist5k, fidelity 1.000, 19 CPU s for 512 images), where the preset's own (2,000 at mnist28)
# would allow 10x the iterations.  A generator (settings_for's choice for other teachers) keeps its
# own phases (warm-up 100 steps, refinement up to 300 per batch: AMORTIZED_REFINE), as nnsynth
# invert runs it: a cap of 200 there would shorten a refinement that was measured at 300.
# (synth.workflows.PER_PIXEL_ITERATIONS)
PER_PIXEL_ITERATIONS = 200

# Generator samples of a teacher with only convolution-channel BN, refined per pixel (at most
# this many iterations of the stopping rule, from the generator's output without added noise),
# from a generator of 32 channels (AmortizedConfig.width is 16): students of 500 inputs, 2
# synthesis x 2 student seeds (benchmarks/results/inversion_any_hard.md, "Generator width"),
# 16 -> 32: resnet8_w8 86.2 -> 89.4%, resnet8_w16 90.5 -> 90.8%, convnet_small 52.1 -> 59.5%
# (synth.inversion.AMORTIZED_REFINE, settings_for)
AMORTIZED_REFINE = {"refine_iterations": 300, "refine_noise": 0.0, "width": 32}

# The generator of a sequence teacher whose BN layers all normalize Conv1d channels (statistics
# averaged over time), the fallback of its per-step inversion (synth.synthesis.method_fallback;
# it was the first method until the benchmark's teachers were trained as `nnsynth train` trains
# them, and then led on no Conv1d row: synth.inversion.settings_for): unrefined (refining its samples per step took the students back to
# per-pixel inversion's level or below: japanesevowels 90.6% instead of 97.5%), with up to 16
# fresh latents per check for an input the teacher does not yet assign to its target (the
# default 4 left a basicmotions set at fidelity 0.896; 16: 0.984-0.986, forward passes only).
# Students of 500 inputs, 2 synthesis x 2 student seeds, convnet1d_small teachers
# (benchmarks/results/inversion_any_hard.md, "Conv1d-BN teachers: the unrefined generator"):
# japanesevowels 97.3% (per-pixel 89.1, real 98.0), basicmotions 93.8% (89.1, real 96.9),
# scp1 73.5% (72.3 in the 3-seed table, real 74.3).  (synth.inversion.SEQUENCE_AMORTIZED)
SEQUENCE_AMORTIZED = {"adapt_redraws": 16}
