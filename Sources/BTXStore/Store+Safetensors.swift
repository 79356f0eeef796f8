import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Hugging Face safetensors in and out: single files and sharded checkpoints
/// (`model.safetensors.index.json` + `model-0000i-of-0000n.safetensors`). Tensors stream between
/// the file and the store one bounded batch at a time.
extension Store {
    /// Stores every tensor of a `.safetensors` file, or of all shards named by an
    /// `*.safetensors.index.json`, and returns the manifest (kind "safetensors", metadata from
    /// `__metadata__`; for a sharded checkpoint also the index's own "metadata" under "index").
    /// `progress` counts the tensors and their bytes against the totals of every file's header.
    public func importSafetensors(_ url: URL, progress: TransferProgress? = nil) throws -> Manifest {
        if url.lastPathComponent.hasSuffix(".index.json") { return try importShardedSafetensors(index: url, progress: progress) }
        var manifest = Manifest(kind: "safetensors")
        let file = try SafetensorsFile(url)
        progress?.expect(objects: file.header.tensors.count, bytes: file.tensorBytes)
        try importSafetensorsFile(file, into: &manifest, progress: progress)
        return manifest
    }

    /// A safetensors file open for reading, with its header parsed.
    private struct SafetensorsFile {
        let url: URL
        let descriptor: FileDescriptor
        let header: SafetensorsHeader
        var tensorBytes: Int64 { header.tensors.reduce(0) { $0 + Int64($1.end - $1.begin) } }

        init(_ url: URL) throws {
            self.url = url
            descriptor = try FileDescriptor(path: url.path, flags: O_RDONLY)
            header = try SafetensorsHeader(reading: descriptor, fileSize: Int(try descriptor.status().st_size), name: url.path)
        }
    }

    private func importSafetensorsFile(_ source: SafetensorsFile, into manifest: inout Manifest, progress: TransferProgress?) throws {
        let (url, file, header) = (source.url, source.descriptor, source.header)
        for tensor in header.tensors {
            guard manifest.tensors[tensor.name] == nil else {
                throw SafetensorsError.malformed(file: url.path, problem: "tensor \"\(tensor.name)\" also appears in another shard")
            }
            let hash = try putObject(file: file, offset: header.dataStart + tensor.begin, count: tensor.end - tensor.begin,
                                     elementSize: Store.shuffleSize(tensor.dtype))
            manifest.tensors[tensor.name] = TensorEntry(dtype: tensor.dtype, shape: tensor.shape, object: hash)
            progress?.add(bytes: Int64(tensor.end - tensor.begin))
        }
        for (key, value) in header.metadata { manifest.metadata[key] = .string(value) }
    }

    private func importShardedSafetensors(index url: URL, progress: TransferProgress?) throws -> Manifest {
        func bad(_ problem: String) -> SafetensorsError { .malformed(file: url.path, problem: problem) }
        guard let data = FileManager.default.contents(atPath: url.path) else { throw bad("cannot read the index") }
        guard let index = try? JSONValue.parse(data), let weightMap = index["weight_map"]?.objectValue else {
            throw bad("index is not JSON with a \"weight_map\" object")
        }
        var shards = Set<String>()
        for (name, value) in weightMap {
            guard let shard = value.stringValue, !shard.contains("/"), !shard.hasPrefix(".") else {
                throw bad("weight_map[\"\(name)\"] is not a file name beside the index")
            }
            shards.insert(shard)
        }
        var manifest = Manifest(kind: "safetensors")
        let files = try shards.sorted().map { try SafetensorsFile(url.deletingLastPathComponent().appendingPathComponent($0)) }
        progress?.expect(objects: files.reduce(0) { $0 + $1.header.tensors.count }, bytes: files.reduce(0) { $0 + $1.tensorBytes })
        for file in files { try importSafetensorsFile(file, into: &manifest, progress: progress) }
        for (name, value) in weightMap where manifest.tensors[name] == nil {
            throw bad("weight_map names tensor \"\(name)\" but its shard \(value.stringValue ?? "") does not contain it")
        }
        if let metadata = index["metadata"] { manifest.metadata["index"] = metadata }
        return manifest
    }

    /// Writes a manifest's tensors as one safetensors file (atomically; it appears only when every
    /// tensor was read back and verified). String metadata becomes `__metadata__`. `progress` counts
    /// the tensors and their bytes against the manifest's totals.
    public func exportSafetensors(_ manifest: Manifest, to url: URL, progress: TransferProgress? = nil) throws {
        let order = Store.safetensorsOrder(manifest)
        let metadata = manifest.metadata.compactMapValues(\.stringValue)
        Store.expectTensors(of: manifest, progress)
        try writeSafetensors(manifest, names: order, metadata: metadata, to: url, progress: progress)
    }

    /// Sets `progress`'s totals to `manifest`'s tensors and their bytes.
    public static func expectTensors(of manifest: Manifest, _ progress: TransferProgress?) {
        progress?.expect(objects: manifest.tensors.count, bytes: manifest.tensors.values.reduce(0) { $0 + Int64($1.byteCount) })
    }

    /// Writes a manifest as shards of at most `maxShardBytes` tensor bytes each into `directory`,
    /// plus `model.safetensors.index.json` (HF's layout). Returns the shard file names.
    @discardableResult
    public func exportShardedSafetensors(_ manifest: Manifest, to directory: URL, maxShardBytes: Int,
                                         progress: TransferProgress? = nil) throws -> [String] {
        Store.expectTensors(of: manifest, progress)
        var groups: [[String]] = [[]], groupBytes = 0
        for name in Store.safetensorsOrder(manifest) {
            let bytes = manifest.tensors[name]!.byteCount
            if !groups[groups.count - 1].isEmpty, groupBytes + bytes > maxShardBytes { groups.append([]); groupBytes = 0 }
            groups[groups.count - 1].append(name)
            groupBytes += bytes
        }
        try FileSystem.makeDirectory(directory.path)
        let files = groups.indices.map { String(format: "model-%05d-of-%05d.safetensors", $0 + 1, groups.count) }
        var weightMap: [String: JSONValue] = [:]
        for (group, file) in zip(groups, files) {
            try writeSafetensors(manifest, names: group, metadata: ["format": "pt"], to: directory.appendingPathComponent(file),
                                 progress: progress)
            for name in group { weightMap[name] = .string(file) }
        }
        let total = manifest.tensors.values.reduce(0) { $0 + $1.byteCount }
        let index: JSONValue = ["metadata": ["total_size": .int(Int64(total))], "weight_map": .object(weightMap)]
        try FileSystem.atomicWrite(index.canonicalData, to: directory.appendingPathComponent("model.safetensors.index.json").path)
        return files
    }

    /// HF's data order: larger element types first (keeps alignment), then by name.
    static func safetensorsOrder(_ manifest: Manifest) -> [String] {
        manifest.tensors.keys.sorted {
            let (a, b) = (manifest.tensors[$0]!.dtype.size, manifest.tensors[$1]!.dtype.size)
            return a != b ? a > b : $0 < $1
        }
    }

    private func writeSafetensors(_ manifest: Manifest, names: [String], metadata: [String: String], to url: URL,
                                  progress: TransferProgress?) throws {
        var offset = 0
        let tensors = names.map { name -> SafetensorsHeader.Tensor in
            let entry = manifest.tensors[name]!
            defer { offset += entry.byteCount }
            return .init(name: name, dtype: entry.dtype, shape: entry.shape, begin: offset, end: offset + entry.byteCount)
        }
        let directory = url.deletingLastPathComponent().path
        let temp = FileSystem.tempPath(in: directory)
        do {
            let out = try FileDescriptor(path: temp, flags: O_WRONLY | O_CREAT | O_EXCL)
            try SafetensorsHeader(tensors: tensors, metadata: metadata).encoded().withUnsafeBytes { try out.write($0) }
            for tensor in tensors {
                let entry = manifest.tensors[tensor.name]!
                try read(entry.object, begin: { length in
                    guard length == entry.byteCount else {
                        throw StoreError.shapeMismatch(shape: entry.shape, dtype: entry.dtype, expectedBytes: entry.byteCount, actualBytes: length)
                    }
                }, sink: { try out.write($0) })
                progress?.add(bytes: Int64(entry.byteCount))
            }
            try out.sync()
        } catch {
            unlink(temp)
            throw error
        }
        try FileSystem.rename(temp, url.path)
    }
}
