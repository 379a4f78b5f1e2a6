# Worker image for Dataflow (runner v2) and Flink (environment_type: DOCKER): the Beam Python
# SDK harness plus corpusforge. Build from the repository root:
#   docker build -f docker/worker.Dockerfile -t REGISTRY/corpusforge-worker:0.1.0 .
# GPU workers: build with --build-arg EXTRAS=gpu on a CUDA 12 base (see README, "GPU workers").
ARG BEAM_VERSION=2.77.0
FROM apache/beam_python3.11_sdk:${BEAM_VERSION}
ARG EXTRAS=gcp
COPY . /opt/corpusforge
RUN pip install --no-cache-dir "/opt/corpusforge[${EXTRAS}]"
