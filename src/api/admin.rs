//! `agenda.v1.AdminService`: export while serving.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::app::Agenda;
use crate::pb::{self, admin_service_server::AdminService};

/// Size of each streamed piece of the export: well under the default 4 MiB message limit of
/// gRPC clients.
const CHUNK: usize = 1024 * 1024;

/// The AdminService implementation.
pub struct AdminApi {
    agenda: Agenda,
}

impl AdminApi {
    pub fn new(agenda: Agenda) -> Self {
        Self { agenda }
    }
}

type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::ExportDataResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AdminService for AdminApi {
    type ExportDataStream = ExportStream;

    async fn export_data(&self, _req: Request<pb::ExportDataRequest>) -> Result<Response<ExportStream>, Status> {
        let (people, sessions, revision) = self.agenda.snapshot().await?;
        let text = crate::transfer::render(&people, &sessions).into_bytes();
        let chunks: Vec<Result<pb::ExportDataResponse, Status>> =
            text.chunks(CHUNK).map(|c| Ok(pb::ExportDataResponse { chunk: c.to_vec(), revision })).collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }
}
