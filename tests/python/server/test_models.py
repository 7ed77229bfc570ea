"""MLflow 3's logged models and the model registry through `runstore serve`:
`mlflow.sklearn.log_model`, `register_model`, aliases and `models:/` URIs resolved
by `mlflow.pyfunc.load_model`, exactly as a training script does it."""

import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LinearRegression


def _train():
    x = np.arange(20, dtype=float).reshape(-1, 1)
    y = 3 * x[:, 0] + 1
    return LinearRegression().fit(x, y), x


def test_log_register_alias_and_load(tracking, tmp_path):
    model, x = _train()
    mlflow.set_experiment("models")
    with mlflow.start_run() as run:
        mlflow.log_param("alpha", 0)
        info = mlflow.sklearn.log_model(model, name="model", input_example=x[:2])
        mlflow.log_metric("rmse", 0.0, model_id=info.model_id)
    client = MlflowClient()

    logged = mlflow.get_logged_model(info.model_id)
    assert logged.status == "READY" or str(logged.status).endswith("READY")
    assert logged.source_run_id == run.info.run_id
    assert logged.name == "model"
    assert [m.key for m in logged.metrics] == ["rmse"]
    found = mlflow.search_logged_models(experiment_ids=[logged.experiment_id], output_format="list")
    assert [m.model_id for m in found] == [info.model_id]

    # The web UI reads a logged model's files through logged-models/<id>/artifacts/files.
    import requests
    files = f"{tracking.url}/ajax-api/2.0/mlflow/logged-models/{info.model_id}/artifacts/files"
    mlmodel = requests.get(files, params={"artifact_file_path": "MLmodel"})
    assert mlmodel.status_code == 200 and b"sklearn" in mlmodel.content and info.model_id.encode() in mlmodel.content
    assert requests.get(files, params={"artifact_file_path": "no-such-file"}).status_code == 404
    assert requests.get(files).status_code == 400

    mv = mlflow.register_model(info.model_uri, "regressor")
    assert mv.version == "1"
    mv2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", "regressor")
    assert mv2.version == "2"
    client.set_registered_model_alias("regressor", "champion", "1")
    assert client.get_model_version_by_alias("regressor", "champion").version == "1"

    for uri in ("models:/regressor@champion", "models:/regressor/1", "models:/regressor/latest",
                f"models:/{info.model_id}"):
        loaded = mlflow.pyfunc.load_model(uri)
        np.testing.assert_allclose(loaded.predict(x[:3]), [1.0, 4.0, 7.0], rtol=1e-6)

    rm = client.get_registered_model("regressor")
    assert rm.aliases == {"champion": "1"}
    client.set_registered_model_tag("regressor", "task", "regression")
    client.update_registered_model("regressor", description="y = 3x + 1")
    client.set_model_version_tag("regressor", "1", "validated", "yes")
    client.update_model_version("regressor", "1", description="first")
    v1 = client.get_model_version("regressor", "1")
    assert v1.tags == {"validated": "yes"} and v1.description == "first" and v1.aliases == ["champion"]
    assert [m.name for m in client.search_registered_models(filter_string="name LIKE 'regr%'")] == ["regressor"]
    versions = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    assert sorted(v.version for v in versions) == ["1", "2"]
    with pytest.warns(FutureWarning):
        client.transition_model_version_stage("regressor", "2", "Production")
    with pytest.warns(FutureWarning):
        latest = client.get_latest_versions("regressor", stages=["Production"])
    assert [v.version for v in latest] == ["2"]

    client.rename_registered_model("regressor", "regressor2")
    assert client.get_model_version_by_alias("regressor2", "champion").version == "1"
    client.delete_registered_model_alias("regressor2", "champion")
    with pytest.raises(MlflowException) as err:
        client.get_model_version_by_alias("regressor2", "champion")
    assert err.value.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    client.delete_model_version("regressor2", "2")
    assert mlflow.register_model(info.model_uri, "regressor2").version == "3"
    client.delete_registered_model("regressor2")
    with pytest.raises(MlflowException) as err:
        client.get_registered_model("regressor2")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    with pytest.raises(MlflowException) as err:
        client.create_registered_model("")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
