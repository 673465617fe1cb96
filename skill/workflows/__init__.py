"""ML workflow helpers built on the tracking core: each writes ordinary experiments.

    AutoTracker            one experiment per call of a decorated training function
    track_hyperparameters  one experiment per parameter combination, under a sweep parent
    track_grid_search      the same around scikit-learn's GridSearchCV
    track_cross_validation per-fold scores, fold sizes and class balance
    compare_models         train, score and compare several models
    ExperimentPipeline     stages of one pipeline as linked experiments
    track_artifacts        files written in a block become an experiment's artifacts

Nothing here imports scikit-learn, pandas or matplotlib until a helper runs;
the facade `specweave` loads each module on first use.
"""
