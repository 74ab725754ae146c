/** TensorFlow.js engine of mmctr: backend selection and the project's own kernels for the CPU backends. */
export {
  BACKEND_CANDIDATES,
  BACKEND_ENV_VAR,
  BACKEND_NAMES,
  BackendUnavailable,
  formatBackendLine,
  isBackendName,
  isPackageMissing,
  parseBackendName,
  selectBackend,
  type BackendCandidate,
  type BackendInfo,
  type BackendName,
  type CandidateReport,
  type SelectBackendOptions,
  type StartContext,
} from './backend';
export {
  PROJECT_KERNEL_GROUPS,
  installedProjectKernels,
  registerProjectKernels,
  unregisterProjectKernels,
  type ProjectKernelGroup,
  type ProjectKernelOptions,
} from './kernels';
export { BackendMemoryError, explainBackendError, isBackendMemoryError } from './memoryErrors';
export * from './native';
