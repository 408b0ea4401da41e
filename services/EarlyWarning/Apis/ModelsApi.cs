using Beacon.Contracts.EarlyWarning;
using Beacon.EarlyWarning.Grpc;
using Beacon.ServiceDefaults;
using Google.Protobuf;
using Grpc.Core;

namespace Beacon.EarlyWarning.Apis;

/// <summary>
/// Every REST route of the model registry (ops only): list, read, train, promote, roll back, re-score, district
/// thresholds and the nightly re-score's status. Each calls the gRPC EarlyWarning service; a body is that method's
/// request message as JSON (an empty body is the empty message), a {modelId} in the path wins over the body's.
/// </summary>
public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/early-warning/v1").RequireAuthorization(Policies.Ops).WithTags("Models");
        api.MapGet("/models", (string? kind, HttpContext http) =>
                GrpcRest.AnswerAsync<EarlyWarningGrpcService, ListModelsResponse>(http, (ew, call) => ew.ListModels(new ListModelsRequest { Kind = kind ?? "" }, call)))
            .WithName("ListModels").WithSummary("Registered model versions, optionally of one kind").Produces<ListModelsResponse>();
        api.MapGet("/models/{modelId}", (string modelId, HttpContext http) =>
                GrpcRest.AnswerAsync<EarlyWarningGrpcService, ModelVersion>(http, (ew, call) => ew.GetModel(new GetModelRequest { ModelId = modelId }, call)))
            .WithName("GetModel").WithSummary("One model version with its card").Produces<ModelVersion>();
        api.MapPost("/models/train", (HttpRequest request, CancellationToken ct) =>
                CommandAsync<TrainModelRequest, ModelVersion>(request, (ew, r, call) => ew.TrainModel(r, call), ct))
            .Accepts<TrainModelRequest>("application/json").Produces<ModelVersion>()
            .WithName("TrainModel").WithSummary("Train, evaluate on held-out data and register a new version (a candidate unless promote is set)");
        api.MapPost("/models/{modelId}/promote", (string modelId, HttpRequest request, CancellationToken ct) =>
                CommandAsync<PromoteModelRequest, ModelVersion>(request, (ew, r, call) => ew.PromoteModel(WithModel(r, modelId), call), ct))
            .Accepts<PromoteModelRequest>("application/json").Produces<ModelVersion>()
            .WithName("PromoteModel").WithSummary("Make a version the active one of its kind");
        api.MapPost("/models/rescore", (HttpRequest request, CancellationToken ct) =>
                CommandAsync<RescoreStudentsRequest, RescoreStudentsResponse>(request, (ew, r, call) => ew.RescoreStudents(r, call), ct))
            .Accepts<RescoreStudentsRequest>("application/json").Produces<RescoreStudentsResponse>()
            .WithName("RescoreStudents").WithSummary("Re-score every student with the active model (the nightly job runs the same code)");
        api.MapPost("/models/{modelId}/thresholds", (string modelId, HttpRequest request, CancellationToken ct) =>
                CommandAsync<SetDistrictThresholdRequest, DistrictThreshold>(request, (ew, r, call) => ew.SetDistrictThreshold(WithModel(r, modelId), call), ct))
            .Accepts<SetDistrictThresholdRequest>("application/json").Produces<DistrictThreshold>()
            .WithName("SetDistrictThreshold").WithSummary("Set a district's threshold to a target (flag the top share, or precision at least X)");
        api.MapPost("/models/rollback", (HttpRequest request, CancellationToken ct) =>
                CommandAsync<RollbackModelRequest, ModelVersion>(request, (ew, r, call) => ew.RollbackModel(r, call), ct))
            .Accepts<RollbackModelRequest>("application/json").Produces<ModelVersion>()
            .WithName("RollbackModel").WithSummary("Re-activate the version that was active before the current one");
        Func<HttpContext, Task<IResult>> nightly = http =>
            GrpcRest.AnswerAsync<EarlyWarningGrpcService, NightlyRescoreStatus>(http, (ew, call) => ew.GetNightlyRescore(new GetNightlyRescoreRequest(), call));
        api.MapGet("/scoring/nightly", nightly)
            .WithName("GetNightlyRescore").WithSummary("What the nightly re-score did last and when it runs next").Produces<NightlyRescoreStatus>();
        return app;
    }

    /// <summary>A POST whose JSON body is the gRPC method's request message, answered with the method's answer.</summary>
    private static async Task<IResult> CommandAsync<TRequest, TResponse>(HttpRequest request,
        Func<EarlyWarningGrpcService, TRequest, ServerCallContext, Task<TResponse>> call, CancellationToken ct)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : IMessage
    {
        var (body, problem) = await GrpcRest.ReadAsync<TRequest>(request, ct);
        return body is null ? problem! : await GrpcRest.AnswerAsync<EarlyWarningGrpcService, TResponse>(request.HttpContext, (ew, context) => call(ew, body, context));
    }

    /// <summary>The {modelId} of the path wins over one in the body.</summary>
    private static PromoteModelRequest WithModel(PromoteModelRequest request, string modelId)
    {
        request.ModelId = modelId;
        return request;
    }

    private static SetDistrictThresholdRequest WithModel(SetDistrictThresholdRequest request, string modelId)
    {
        request.ModelId = modelId;
        return request;
    }
}
