using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Beacon.Ingestion.Intake;

/// <summary>
/// The xAPI 1.0.3 statement rules an LRS enforces (Data part, section 2): every problem of a statement is listed,
/// each under its path (<c>statements[2].actor.mbox</c>), so a sender fixes them all in one go. A statement that
/// breaks them is not an xAPI statement, and the spec makes the LRS refuse its whole batch; statements that are
/// valid but that Beacon cannot use are a different matter (stored and counted, see <see cref="XapiStatements"/>).
/// </summary>
public static partial class XapiValidation
{
    public const string VoidedVerb = "http://adlnet.gov/expapi/verbs/voided";

    private static readonly HashSet<string> StatementProperties = ["id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority", "version", "attachments"];
    private static readonly HashSet<string> SubStatementProperties = ["objectType", "actor", "verb", "object", "result", "context", "timestamp", "attachments"];
    private static readonly HashSet<string> ResultProperties = ["score", "success", "completion", "response", "duration", "extensions"];
    private static readonly HashSet<string> ScoreProperties = ["scaled", "raw", "min", "max"];
    private static readonly HashSet<string> ContextActivityKinds = ["parent", "grouping", "category", "other"];
    private static readonly HashSet<string> InteractionTypes = ["true-false", "choice", "fill-in", "long-fill-in", "matching", "performance", "sequencing", "likert", "numeric", "other"];

    /// <summary>Every problem of one statement, as (path under <paramref name="at"/>, reason).</summary>
    public static List<(string Path, string Reason)> Check(JsonNode? node, string at)
    {
        var problems = new List<(string, string)>();
        void Problem(string path, string reason) => problems.Add((path.Length == 0 ? at : $"{at}.{path}", reason));

        if (node is not JsonObject statement)
        {
            Problem("", "must be a JSON object (an xAPI statement).");
            return problems;
        }
        Unknown(statement, StatementProperties, "", Problem);
        if (statement["id"] is { } id && !IsUuid(id))
        {
            Problem("id", $"'{Show(id)}' is not a UUID.");
        }
        Statement(statement, "", Problem);
        foreach (var stamp in new[] { "timestamp", "stored" })
        {
            if (statement[stamp] is { } value && Timestamp(value) is null)
            {
                Problem(stamp, $"'{Show(value)}' is not an ISO 8601 date-time (for example 2026-10-01T09:30:00Z).");
            }
        }
        if (statement["version"] is { } version && !(Text(version) is { } v && (v == "1.0" || v.StartsWith("1.0.", StringComparison.Ordinal))))
        {
            Problem("version", $"'{Show(version)}' is not a 1.0.x version.");
        }
        if (statement["authority"] is { } authority)
        {
            Agent(authority, "authority", groupAllowed: true, Problem);
        }
        return problems;
    }

    /// <summary>actor, verb, object, result and context: the parts a statement and a SubStatement share.</summary>
    private static void Statement(JsonObject statement, string at, Action<string, string> problem)
    {
        string P(string name) => at.Length == 0 ? name : $"{at}.{name}";
        if (statement["actor"] is not { } actor)
        {
            problem(P("actor"), "is required (an Agent or Group).");
        }
        else
        {
            Agent(actor, P("actor"), groupAllowed: true, problem);
        }
        var verbId = statement["verb"] is JsonObject verb ? Text(verb["id"]) : null;
        if (statement["verb"] is not JsonObject verbObject)
        {
            problem(P("verb"), "is required (an object with an id IRI).");
        }
        else
        {
            if (!IsIri(verbObject["id"]))
            {
                problem(P("verb.id"), $"'{Show(verbObject["id"])}' is not an absolute IRI.");
            }
            if (verbObject["display"] is { } display && !IsLanguageMap(display))
            {
                problem(P("verb.display"), "must be a language map (language tag → text).");
            }
        }
        if (statement["object"] is not JsonObject target)
        {
            problem(P("object"), "is required (an Activity, Agent, Group, StatementRef or SubStatement).");
        }
        else
        {
            Object(target, P("object"), isSubStatement: at.Length > 0, problem);
            if (verbId == VoidedVerb && Text(target["objectType"]) != "StatementRef")
            {
                problem(P("object.objectType"), "must be StatementRef: a voiding statement names the statement it voids.");
            }
        }
        if (statement["result"] is { } result)
        {
            Result(result, P("result"), problem);
        }
        if (statement["context"] is { } context)
        {
            Context(context, P("context"), problem);
        }
    }

    private static void Object(JsonObject target, string at, bool isSubStatement, Action<string, string> problem)
    {
        switch (Text(target["objectType"]) ?? "Activity")
        {
            case "Activity":
                Activity(target, at, problem);
                break;
            case "Agent" or "Group":
                Agent(target, at, groupAllowed: true, problem);
                break;
            case "StatementRef":
                if (!IsUuid(target["id"]))
                {
                    problem($"{at}.id", $"'{Show(target["id"])}' is not a UUID (a StatementRef names a statement by its id).");
                }
                break;
            case "SubStatement" when isSubStatement:
                problem($"{at}.objectType", "a SubStatement cannot hold another SubStatement.");
                break;
            case "SubStatement":
                Unknown(target, SubStatementProperties, at, problem);
                Statement(target, at, problem);
                break;
            default:
                problem($"{at}.objectType", $"'{Show(target["objectType"])}' is not Activity, Agent, Group, StatementRef or SubStatement.");
                break;
        }
    }

    private static void Activity(JsonNode? node, string at, Action<string, string> problem)
    {
        if (node is not JsonObject activity)
        {
            problem(at, "must be an Activity object.");
            return;
        }
        if (!IsIri(activity["id"]))
        {
            problem($"{at}.id", $"'{Show(activity["id"])}' is not an absolute IRI (an Activity's id is required).");
        }
        if (activity["definition"] is not { } definitionNode)
        {
            return;
        }
        if (definitionNode is not JsonObject definition)
        {
            problem($"{at}.definition", "must be an object.");
            return;
        }
        foreach (var map in new[] { "name", "description" })
        {
            if (definition[map] is { } value && !IsLanguageMap(value))
            {
                problem($"{at}.definition.{map}", "must be a language map (language tag → text).");
            }
        }
        if (definition["interactionType"] is { } type && !(Text(type) is { } t && InteractionTypes.Contains(t)))
        {
            problem($"{at}.definition.interactionType", $"'{Show(type)}' is not a cmi.interaction type ({string.Join(", ", InteractionTypes)}).");
        }
        if (definition["correctResponsesPattern"] is { } pattern && !(pattern is JsonArray list && list.All(p => Text(p) is not null || p is JsonValue { } s && s.GetValueKind() == JsonValueKind.String)))
        {
            problem($"{at}.definition.correctResponsesPattern", "must be an array of strings.");
        }
        if (definition["extensions"] is { } extensions)
        {
            Extensions(extensions, $"{at}.definition.extensions", problem);
        }
    }

    private static void Agent(JsonNode node, string at, bool groupAllowed, Action<string, string> problem)
    {
        if (node is not JsonObject agent)
        {
            problem(at, "must be an Agent or Group object.");
            return;
        }
        var type = Text(agent["objectType"]) ?? "Agent";
        if (type is not ("Agent" or "Group") || (type == "Group" && !groupAllowed))
        {
            problem($"{at}.objectType", $"'{Show(agent["objectType"])}' is not {(groupAllowed ? "Agent or Group" : "Agent")}.");
            return;
        }
        var identifiers = new[] { "mbox", "mbox_sha1sum", "openid", "account" }.Where(k => agent[k] is not null).ToList();
        if (type == "Agent" && identifiers.Count != 1)
        {
            problem(at, identifiers.Count == 0
                ? "names no one: an Agent needs exactly one of mbox, mbox_sha1sum, openid or account."
                : $"has {string.Join(" and ", identifiers)}: an Agent has exactly one of mbox, mbox_sha1sum, openid or account.");
        }
        if (type == "Group" && identifiers.Count > 1)
        {
            problem(at, $"has {string.Join(" and ", identifiers)}: an identified Group has exactly one of mbox, mbox_sha1sum, openid or account.");
        }
        if (agent["name"] is { } name && Text(name) is null)
        {
            problem($"{at}.name", "must be a string.");
        }
        if (agent["mbox"] is { } mbox && !(Text(mbox) is { } m && m.StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) && m.IndexOf('@') > 7))
        {
            problem($"{at}.mbox", $"'{Show(mbox)}' is not a mailto IRI (mailto:name@example.org).");
        }
        if (agent["mbox_sha1sum"] is { } sum && !(Text(sum) is { } s && Sha1Hex().IsMatch(s)))
        {
            problem($"{at}.mbox_sha1sum", $"'{Show(sum)}' is not the 40 hexadecimal digits of a SHA-1 sum.");
        }
        if (agent["openid"] is { } openid && !IsIri(openid))
        {
            problem($"{at}.openid", $"'{Show(openid)}' is not an absolute URI.");
        }
        if (agent["account"] is { } accountNode)
        {
            if (accountNode is not JsonObject account)
            {
                problem($"{at}.account", "must be an object with homePage and name.");
            }
            else
            {
                if (!IsIri(account["homePage"]))
                {
                    problem($"{at}.account.homePage", $"'{Show(account["homePage"])}' is not an absolute IRL (the system the account is on).");
                }
                if (Text(account["name"]) is null)
                {
                    problem($"{at}.account.name", "is required (the account's name on that system).");
                }
            }
        }
        if (type == "Group")
        {
            if (agent["member"] is { } members)
            {
                if (members is not JsonArray list)
                {
                    problem($"{at}.member", "must be an array of Agents.");
                }
                else
                {
                    for (var i = 0; i < list.Count; i++)
                    {
                        if (list[i] is { } member)
                        {
                            Agent(member, $"{at}.member[{i}]", groupAllowed: false, problem);
                        }
                    }
                }
            }
            else if (identifiers.Count == 0)
            {
                problem($"{at}.member", "is required for an anonymous Group (one without mbox, mbox_sha1sum, openid or account).");
            }
        }
    }

    private static void Result(JsonNode node, string at, Action<string, string> problem)
    {
        if (node is not JsonObject result)
        {
            problem(at, "must be an object.");
            return;
        }
        Unknown(result, ResultProperties, at, problem);
        foreach (var flag in new[] { "success", "completion" })
        {
            if (result[flag] is { } value && value.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
            {
                problem($"{at}.{flag}", $"'{Show(value)}' is not true or false.");
            }
        }
        if (result["response"] is { } response && Text(response) is null && !(response is JsonValue r && r.GetValueKind() == JsonValueKind.String))
        {
            problem($"{at}.response", "must be a string.");
        }
        if (result["duration"] is { } duration && DurationSeconds(Text(duration)) is null)
        {
            problem($"{at}.duration", $"'{Show(duration)}' is not an ISO 8601 duration (for example PT1M30S).");
        }
        if (result["extensions"] is { } extensions)
        {
            Extensions(extensions, $"{at}.extensions", problem);
        }
        if (result["score"] is not { } scoreNode)
        {
            return;
        }
        if (scoreNode is not JsonObject score)
        {
            problem($"{at}.score", "must be an object.");
            return;
        }
        Unknown(score, ScoreProperties, $"{at}.score", problem);
        var numbers = new Dictionary<string, double>();
        foreach (var part in ScoreProperties)
        {
            if (score[part] is { } value)
            {
                if (value is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
                {
                    numbers[part] = v.GetValue<double>();
                }
                else
                {
                    problem($"{at}.score.{part}", $"'{Show(value)}' is not a number.");
                }
            }
        }
        if (numbers.TryGetValue("scaled", out var scaled) && scaled is < -1 or > 1)
        {
            problem($"{at}.score.scaled", $"{scaled} is not between -1 and 1.");
        }
        if (numbers.TryGetValue("min", out var min) && numbers.TryGetValue("max", out var max) && min >= max)
        {
            problem($"{at}.score.max", $"{max} is not greater than min ({min}).");
        }
        if (numbers.TryGetValue("raw", out var raw) && ((numbers.TryGetValue("min", out min) && raw < min) || (numbers.TryGetValue("max", out max) && raw > max)))
        {
            problem($"{at}.score.raw", $"{raw} is outside min..max.");
        }
    }

    private static void Context(JsonNode node, string at, Action<string, string> problem)
    {
        if (node is not JsonObject context)
        {
            problem(at, "must be an object.");
            return;
        }
        if (context["registration"] is { } registration && !IsUuid(registration))
        {
            problem($"{at}.registration", $"'{Show(registration)}' is not a UUID.");
        }
        if (context["instructor"] is { } instructor)
        {
            Agent(instructor, $"{at}.instructor", groupAllowed: true, problem);
        }
        if (context["statement"] is { } reference && !(reference is JsonObject r && Text(r["objectType"]) == "StatementRef" && IsUuid(r["id"])))
        {
            problem($"{at}.statement", "must be a StatementRef (objectType StatementRef and a UUID id).");
        }
        if (context["extensions"] is { } extensions)
        {
            Extensions(extensions, $"{at}.extensions", problem);
        }
        if (context["contextActivities"] is not { } activitiesNode)
        {
            return;
        }
        if (activitiesNode is not JsonObject activities)
        {
            problem($"{at}.contextActivities", "must be an object (parent, grouping, category, other).");
            return;
        }
        foreach (var (kind, value) in activities)
        {
            if (!ContextActivityKinds.Contains(kind))
            {
                problem($"{at}.contextActivities.{kind}", "is not parent, grouping, category or other.");
            }
            else if (value is JsonArray list)
            {
                for (var i = 0; i < list.Count; i++)
                {
                    Activity(list[i], $"{at}.contextActivities.{kind}[{i}]", problem);
                }
            }
            else
            {
                Activity(value, $"{at}.contextActivities.{kind}", problem);
            }
        }
    }

    private static void Extensions(JsonNode node, string at, Action<string, string> problem)
    {
        if (node is not JsonObject extensions)
        {
            problem(at, "must be an object whose keys are IRIs.");
            return;
        }
        foreach (var key in extensions.Select(e => e.Key).Where(k => !Uri.TryCreate(k, UriKind.Absolute, out _)))
        {
            problem($"{at}", $"key '{Show(key)}' is not an absolute IRI.");
        }
    }

    private static void Unknown(JsonObject node, HashSet<string> allowed, string at, Action<string, string> problem)
    {
        foreach (var name in node.Select(p => p.Key).Where(k => !allowed.Contains(k)))
        {
            problem(at.Length == 0 ? name : $"{at}.{name}", "is not a property xAPI 1.0.3 defines here.");
        }
    }

    /// <summary>An ISO 8601 duration in seconds (years as 365 days, months as 30), or null when it is not one.</summary>
    public static double? DurationSeconds(string? text)
    {
        if (text is null || Duration().Match(text) is not { Success: true } m || text is "P" || text.EndsWith('T'))
        {
            return null;
        }
        double Part(string group) => m.Groups[group].Success ? double.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        return Part("y") * 365 * 86400 + Part("mo") * 30 * 86400 + Part("w") * 7 * 86400 + Part("d") * 86400 + Part("h") * 3600 + Part("mi") * 60 + Part("s");
    }

    public static DateTimeOffset? Timestamp(JsonNode? node) =>
        Text(node) is { } text && text.Contains('T') && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    public static bool IsUuid(JsonNode? node) => Text(node) is { Length: 36 } text && Guid.TryParseExact(text, "D", out _);

    private static bool IsIri(JsonNode? node) => Text(node) is { } text && Uri.TryCreate(text, UriKind.Absolute, out _);

    private static bool IsLanguageMap(JsonNode node) => node is JsonObject map && map.All(p => Text(p.Value) is not null || p.Value?.GetValueKind() == JsonValueKind.String);

    /// <summary>A non-empty string value, or null.</summary>
    public static string? Text(JsonNode? node) => node is JsonValue value && value.GetValueKind() == JsonValueKind.String && value.GetValue<string>() is { Length: > 0 } text ? text : null;

    private static string Show(JsonNode? node) => Apis.Rules.Show(node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : node?.ToJsonString());

    [GeneratedRegex("^[0-9a-fA-F]{40}$")]
    private static partial Regex Sha1Hex();

    [GeneratedRegex(@"^P(?:(?<y>\d+(?:\.\d+)?)Y)?(?:(?<mo>\d+(?:\.\d+)?)M)?(?:(?<w>\d+(?:\.\d+)?)W)?(?:(?<d>\d+(?:\.\d+)?)D)?(?:T(?:(?<h>\d+(?:\.\d+)?)H)?(?:(?<mi>\d+(?:\.\d+)?)M)?(?:(?<s>\d+(?:\.\d+)?)S)?)?$")]
    private static partial Regex Duration();
}
