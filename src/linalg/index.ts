/** Pure TypeScript linear algebra (no tfjs): matrix products, symmetric eigen-decomposition, PCA. */
export * from './matrix';
export * from './matmul';
export * from './eigen';
export * from './pca';
export * from './subspace';
