// Public API of src/model: the room document's key names, the HLC order, the record formats
// and the document boundary (docs/document-model.md). Imports only yjs and lib0.
export * from './schema'
export * from './hlc'
export * from './records'
export * from './payload'
export * from './room-document'
export * from './newest-records'
