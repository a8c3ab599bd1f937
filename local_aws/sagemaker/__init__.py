"""The SageMaker control plane and runtime, served by the emulator."""
