import Foundation
import Testing

@testable import JobsClient

/// Encodes `value` as the client sends it and decodes the result as a JSON value.
func wireJSON(_ value: some Encodable) throws -> JSONValue {
    try JSONDecoder().decode(JSONValue.self, from: JobsClient.encode(value))
}

@Suite struct ProgressEncodingTests {
    @Test func emptyProgressIsAnEmptyObject() throws {
        #expect(String(decoding: try JobsClient.encode(Progress()), as: UTF8.self) == "{}")
    }

    @Test func onlySetFieldsAreSentWithSnakeCaseKeys() throws {
        let progress = Progress(processedItemsDelta: 50, stage: "transforming", markStarted: true)
        #expect(
            String(decoding: try JobsClient.encode(progress), as: UTF8.self)
                == #"{"mark_started":true,"processed_items_delta":50,"stage":"transforming"}"#)
    }

    @Test func everyFieldHasItsContractName() throws {
        let progress = Progress(
            totalItems: 10, processedItems: 4, processedItemsDelta: 1, metadataPatch: ["a": 1, "gone": nil],
            stage: "s", message: "m",
            error: ItemIssue(entityKey: "SKU-1", errorType: "validation", message: "bad"),
            warning: ItemIssue(
                entityKey: "SKU-2", errorType: "w", message: "meh", details: ["row": 2],
                entityType: "row", step: "check"),
            markStarted: true, markCompleted: false, markFailed: "boom")
        let json = try wireJSON(progress)
        #expect(
            Set(json.objectValue?.keys.map { $0 } ?? []) == [
                "total_items", "processed_items", "processed_items_delta", "metadata_patch", "stage", "message",
                "error", "warning", "mark_started", "mark_completed", "mark_failed",
            ])
        // A nil inside metadata_patch is a JSON null (RFC 7396: remove the key).
        #expect(json["metadata_patch"] == ["a": 1, "gone": .null])
        // Nil fields of the nested issue are omitted too.
        #expect(json["error"] == ["entity_key": "SKU-1", "error_type": "validation", "message": "bad"])
        #expect(
            json["warning"] == [
                "entity_key": "SKU-2", "error_type": "w", "message": "meh", "details": ["row": 2],
                "entity_type": "row", "step": "check",
            ])
        #expect(json["mark_completed"] == false)
    }

    @Test func wholeNumbersAreEncodedAsIntegers() throws {
        let data = try JobsClient.encode([
            "row": JSONValue.number(3), "price": 2.5, "big": .number(9_007_199_254_740_991),
        ])
        #expect(String(decoding: data, as: UTF8.self) == #"{"big":9007199254740991,"price":2.5,"row":3}"#)
    }

    @Test func createAndCancelBodies() throws {
        #expect(
            String(decoding: try JobsClient.encode(CreateJobBody(jobType: "csv-import", totalItems: 3)), as: UTF8.self)
                == #"{"job_type":"csv-import","total_items":3}"#)
        #expect(String(decoding: try JobsClient.encode(CancelBody(reason: nil)), as: UTF8.self) == "{}")
        #expect(
            String(decoding: try JobsClient.encode(CancelBody(reason: "stop")), as: UTF8.self) == #"{"reason":"stop"}"#)
    }
}
