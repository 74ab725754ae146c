/**
 * Task 1: multimodal item embeddings. PCA that scales (pca.ts), whitening (whiten.ts), content strategies over
 * text / image / title modalities (content.ts), Word2Vec over item_seq (word2vec.ts), fusion (fuse.ts) with its optional residual (residual.ts) and cluster block (kmeans.ts), the offline
 * title encoder (titleEncoder.ts), nearest-neighbour checks (retrieval.ts), and `embed` (embed.ts), which writes an
 * item_info.parquet any Task 2 model trains on.
 */
export * from './pca';
export * from './whiten';
export * from './content';
export * from './word2vec';
export * from './fuse';
export * from './kmeans';
export * from './residual';
export * from './titleEncoder';
export * from './retrieval';
export * from './embed';
export { sgnsWasmSupported } from './sgnsWasm';
