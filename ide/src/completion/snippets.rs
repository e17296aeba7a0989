//! Item keywords and snippets offered between items. A new flag gets an
//! expiry 90 days out: flags are meant to be removed, and W0002 reminds
//! the owner when the date passes.

use super::{CompletionItem, CompletionKind};

const DAY: i64 = 86_400_000_000;

pub fn items(today: Option<i64>) -> Vec<CompletionItem> {
    let today = today.unwrap_or_else(vexil_compiler::today);
    let expires = vexil_ir::value::format_timestamp(today + 90 * DAY);
    let expires = expires.get(..10).unwrap_or("2027-01-01");
    let flag = format!(
        "/// ${{1:What it does and when it can go.}}\n\
         flag ${{2:name}}: ${{3|bool,string,int,float,json|}} {{\n\
         \x20 kind ${{4|release,experiment,operational,permission|}}\n\
         \x20 owner \"${{5:team}}\"\n\
         \x20 expires ${{6:{expires}}}\n\
         \x20 default ${{7:false}}\n\
         \n\
         \x20 rule ${{8:staff}}: when ${{9:staff}} => ${{10:true}}\n\
         }}\n$0"
    );
    let experiment = "/// ${1:The question it answers.}\n\
         experiment ${2:name}: ${3|string,bool,int,float,json|} {\n\
         \x20 owner \"${4:team}\"\n\
         \x20 unit ${5:user}\n\
         \x20 variants {\n\
         \x20   ${6:control} = ${7:\"a\"} 50%\n\
         \x20   ${8:treatment} = ${9:\"b\"} 50%\n\
         \x20 }\n\
         \x20 control ${6:control}\n\
         \x20 metrics {\n\
         \x20   primary ${10:conversion}: conversion(${11:purchase}) increase\n\
         \x20 }\n\
         }\n$0";
    let segment = "/// ${1:Who is in it.}\nsegment ${2:name} {\n  ${3:condition}\n}\n$0";
    let context =
        "/// ${1:What the caller sends.}\ncontext ${2:name} {\n  key ${3:id}: ${4|string,int|}\n  $0\n}\n";
    let test = "test \"${1:what it shows}\" {\n  context {\n    ${2:user} { $3 }\n  }\n  expect ${4:flag} == ${5:true}\n}\n$0";
    let snippet = |label: &str, detail: &str, body: String| CompletionItem {
        label: label.to_string(),
        kind: CompletionKind::Snippet,
        detail: Some(detail.to_string()),
        documentation: None,
        insert: Some(body),
        snippet: true,
    };
    vec![
        snippet("flag", "a new flag", flag),
        snippet("experiment", "a new experiment", experiment.to_string()),
        snippet("segment", "a new segment", segment.to_string()),
        snippet("context", "a new context schema", context.to_string()),
        snippet("test", "a new test", test.to_string()),
    ]
}
