package io.fewshotstreams.embedding;

/** Where the backbone runs. */
public enum Device {
  /** CUDA when the ONNX Runtime build and the machine provide it, otherwise CPU (logged). */
  AUTO,
  /** Always the CPU execution provider. */
  CPU,
  /** The CUDA execution provider on GPU 0; opening fails when it is not available. */
  CUDA
}
