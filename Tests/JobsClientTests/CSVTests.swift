import Testing

@testable import JobsClient

@Suite struct CSVTests {
    @Test func plainRecords() throws {
        #expect(try CSV.parse("a,b,c\n1,2,3\n") == [["a", "b", "c"], ["1", "2", "3"]])
    }

    @Test func quotedFieldsMayHoldCommasAndLineBreaks() throws {
        #expect(try CSV.parse("sku,name\nS1,\"Mug, large\"\n") == [["sku", "name"], ["S1", "Mug, large"]])
        #expect(try CSV.parse("a,\"line 1\nline 2\",c") == [["a", "line 1\nline 2", "c"]])
        #expect(try CSV.parse("a,\"x\r\ny\"\r\nb") == [["a", "x\r\ny"], ["b"]])
    }

    @Test func doubledQuotesAreOneQuote() throws {
        #expect(try CSV.parse(#""The ""Barista"" tamper",2"#) == [[#"The "Barista" tamper"#, "2"]])
        #expect(try CSV.parse(#""""""#) == [[#"""#]])
        #expect(try CSV.parse(#"a,"",b"#) == [["a", "", "b"]])
    }

    @Test func quoteInsideAnUnquotedFieldIsLiteral() throws {
        #expect(try CSV.parse(#"5" screen,3"#) == [[#"5" screen"#, "3"]])
    }

    @Test func crlfAndLoneCRSeparateRecords() throws {
        #expect(try CSV.parse("a,b\r\n1,2\r\n") == [["a", "b"], ["1", "2"]])
        #expect(try CSV.parse("a,b\r1,2") == [["a", "b"], ["1", "2"]])
    }

    @Test func trailingAndBlankLinesAreNotRecords() throws {
        #expect(try CSV.parse("a\n1\n") == [["a"], ["1"]])
        #expect(try CSV.parse("a\n1\n\n\r\n") == [["a"], ["1"]])
        #expect(try CSV.parse("a\n\n1") == [["a"], ["1"]])
        #expect(try CSV.parse("") == [])
        #expect(try CSV.parse("\n") == [])
    }

    @Test func emptyFieldsAreKept() throws {
        #expect(try CSV.parse(",b,\n") == [["", "b", ""]])
        #expect(try CSV.parse("a,\n") == [["a", ""]])
        #expect(try CSV.parse("\"\"\n") == [[""]])
    }

    @Test func byteOrderMarkIsIgnored() throws {
        #expect(try CSV.parse("\u{FEFF}sku,price\n") == [["sku", "price"]])
    }

    @Test func malformedQuotingIsAnError() {
        #expect(throws: CSV.ParseError(line: 2, reason: "quoted field is not closed")) {
            try CSV.parse("a\n\"open,\nstill open")
        }
        #expect(throws: CSV.ParseError(line: 1, reason: "unexpected character after a closing quote")) {
            try CSV.parse(#""ab"c,d"#)
        }
    }

    @Test func tableFindsColumnsAndPadsShortRows() throws {
        let table = try CSVTable(parsing: "SKU , Price\nS1,1.5\nS2\n")
        #expect(table.header == ["SKU ", " Price"])
        #expect(table.rows == [["S1", "1.5"], ["S2"]])
        let price = try #require(table.columnIndex("price"))
        #expect(CSVTable.field(table.rows[1], price) == "")
        #expect(table.columnIndex("missing") == nil)
        #expect(try CSVTable(parsing: "").rows.isEmpty)
    }
}
